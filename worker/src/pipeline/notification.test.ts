import { describe, expect, it } from 'vitest';
import type { CriticalFinding } from './assess.ts';
import { composeCriticalNotification } from './notification.ts';

describe('the score in a critical-finding email', () => {
  const finding: CriticalFinding = {
    study: '2.25.1',
    series: '2.25.2',
    sop: '2.25.3',
    label: 'suspicious_lesion',
    score: 0.8456,
    threshold: 0.8451,
    critical: true,
    position: 1,
    imagesInSeries: 1,
    model: { name: 'ref', version: '1' },
  };
  const compose = (f: CriticalFinding) =>
    composeCriticalNotification(f, { jobId: 'job-1', detectedAt: new Date(0) });

  it('gives the score and its threshold at one precision, so a flagged score never reads below its threshold', () => {
    // Rounded to two places the threshold read 0.85 beside a score of 0.846.
    const m = compose(finding);
    expect(m.message).toContain('Score:          0.846 (critical threshold 0.845)');
    expect(m.subject).toBe('[medimg] Critical finding: suspicious lesion (unspecified modality) score 0.846');
  });

  it('says in the subject the score the body gives (0.999, not 1.00)', () => {
    const m = compose({ ...finding, score: 0.999, threshold: 0.84 });
    expect(m.subject).toMatch(/ score 0\.999$/);
    expect(m.message).toContain('Score:          0.999 (critical threshold 0.840)');
  });
});
