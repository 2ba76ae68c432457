import { describe, expect, it } from 'vitest';
import { assessSeries, criticalFindingsOfStudy, type ScoredInstance } from './assess.ts';

const scored = (sop: string, instanceNumber: number, score: number): ScoredInstance => ({
  sop,
  instanceNumber,
  prediction: {
    id: sop,
    scores: { suspicious_lesion: score },
    findings:
      score >= 0.5
        ? [{ label: 'suspicious_lesion', score, box: { x: 0.1, y: 0.2, width: 0.1, height: 0.1 } }]
        : [],
  },
});

describe('assessSeries', () => {
  it('takes the maximum over the series and reports the image that carries it', () => {
    const series = [scored('c', 3, 0.2), scored('a', 1, 0.1), scored('b', 2, 0.93)];
    const { findings } = assessSeries('s1', series, { suspicious_lesion: 0.8 });
    expect(findings).toEqual([
      expect.objectContaining({
        label: 'suspicious_lesion',
        score: 0.93,
        critical: true,
        sop: 'b',
        position: 2,
        imagesInSeries: 3,
      }),
    ]);
    expect(findings[0]?.box).toEqual({ x: 0.1, y: 0.2, width: 0.1, height: 0.1 });
  });

  it('is not critical below the threshold, nor for a label without a threshold', () => {
    expect(assessSeries('s', [scored('a', 1, 0.79)], { suspicious_lesion: 0.8 }).findings[0]?.critical).toBe(
      false,
    );
    expect(assessSeries('s', [scored('a', 1, 0.99)], {}).findings[0]?.critical).toBe(false);
  });

  it('is critical exactly at the threshold', () => {
    expect(assessSeries('s', [scored('a', 1, 0.8)], { suspicious_lesion: 0.8 }).findings[0]?.critical).toBe(
      true,
    );
  });
});

describe('criticalFindingsOfStudy', () => {
  it('keeps one finding per label: the highest-scoring critical series', () => {
    const model = { name: 'm', version: '1' };
    const a = assessSeries('s1', [scored('x', 1, 0.85)], { suspicious_lesion: 0.8 });
    const b = assessSeries('s2', [scored('y', 1, 0.95)], { suspicious_lesion: 0.8 });
    const c = assessSeries('s3', [scored('z', 1, 0.1)], { suspicious_lesion: 0.8 });
    const found = criticalFindingsOfStudy('study', [a, b, c], model);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ series: 's2', sop: 'y', score: 0.95, study: 'study', model });
  });
});
