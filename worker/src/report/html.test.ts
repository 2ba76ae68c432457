/**
 * The report page's own guarantees, whatever it is given: self-contained (no URL it could fetch),
 * values escaped, images only as PNG data URIs. What it shows is checked in headless Chromium by
 * test/src/e2e/cli.test.ts and the demo's test.
 */
import { describe, expect, it } from 'vitest';
import { renderReportHtml } from './html.ts';
import type { RunReport } from './model.ts';

const PNG = 'data:image/png;base64,iVBORw0KGgo=';

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    title: 'medimg report',
    jobs: [
      {
        jobId: 'job-0123456789abcdef01234567',
        state: 'succeeded',
        counts: { inputs: 1, processed: 1, quarantined: 0, failed: 0 },
        inference: { state: 'succeeded', requests: 1 },
        steps: [{ name: 'infer', state: 'succeeded', ok: 1, failed: 0, durationMs: 12 }],
      },
    ],
    studies: [
      {
        study: '2.25.1',
        model: { name: 'm', version: '1' },
        inference: 'succeeded',
        thresholds: { suspicious_lesion: 0.9 },
        series: [
          {
            series: '2.25.2',
            modality: 'CT',
            bodyPart: 'CHEST',
            instances: 1,
            assessment: 'not assessed: OUT_OF_SCOPE',
            findings: [],
            thumbnails: [{ sop: '2.25.3', src: PNG }],
            thumbnailsOmitted: 0,
          },
        ],
        critical: [],
      },
    ],
    setAside: [],
    ...over,
  };
}

describe('renderReportHtml', () => {
  it('forbids every fetch but inline images and styles in its Content-Security-Policy', () => {
    const html = renderReportHtml(report());
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('escapes every value it shows', () => {
    const html = renderReportHtml(report({ title: '<img src=x onerror=alert(1)>' }));
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('puts nothing but a PNG data URI in an image source', () => {
    const bad = report();
    const study = bad.studies[0]!;
    const html = renderReportHtml({
      ...bad,
      studies: [
        {
          ...study,
          series: [{ ...study.series[0]!, thumbnails: [{ sop: '1', src: 'https://example.org/x.png' }] }],
        },
      ],
    });
    expect(html).not.toContain('example.org');
  });

  it('shows a series the model did not assess, with the reason', () => {
    expect(renderReportHtml(report())).toContain('not assessed: OUT_OF_SCOPE');
  });
});

describe('a critical finding in the report', () => {
  const decisionSupport = {
    statement: 'Decision support from a site model: not a diagnosis and not a medical device.',
    kind: 'site' as const,
    intendedUse: 'Flags a possible round lesion on CT of the chest.',
    scope: ['CT of the chest, axial'],
    falseAlarmsPer100Studies: { value: 2, ci95: [0.1, 9.6] as const, studies: 120, target: 5 },
    syntheticSensitivity: 0.822,
  };
  const finding = {
    series: '2.25.2',
    sop: '2.25.3',
    label: 'suspicious_lesion',
    score: 0.97,
    threshold: 0.84,
    critical: true,
    position: 24,
    imagesInSeries: 48,
    box: { x: 0.2, y: 0.4, width: 0.1, height: 0.1 },
    preview: { sop: '2.25.3', src: PNG },
  };

  it("says beside it the model's intended use, measured false alarm rate, and that it is decision support", () => {
    const base = report().studies[0]!;
    const html = renderReportHtml(
      report({ studies: [{ ...base, decisionSupport, critical: [finding as never] }] }),
    );
    const card = html.slice(html.indexOf('<section class="critical"'), html.indexOf('</section>'));
    expect(card).toContain('<b>Intended use:</b> Flags a possible round lesion on CT of the chest.');
    expect(card).toContain(
      '<span data-false-alarm-rate>2 per 100 in-scope real studies</span> (95 % CI 0.1 to 9.6; 120 evaluation studies; threshold chosen for at most 5 per 100).',
    );
    expect(card).toContain('Sensitivity on synthetic lesions</b> at this threshold: 82.2 %.');
    expect(card).toContain('Decision support from a site model');
    expect(card).toContain('The red box marks where the model points: middle left of the image.');
    expect(html).toContain('<footer>Decision support from a site model');
  });

  it('still says it is decision support when the study has no model metadata', () => {
    const base = report().studies[0]!;
    const html = renderReportHtml(report({ studies: [{ ...base, critical: [finding as never] }] }));
    const card = html.slice(html.indexOf('<section class="critical"'), html.indexOf('</section>'));
    expect(card).toContain(
      'Decision support from a reference model: not a diagnosis and not a medical device.',
    );
    expect(card).not.toContain('Intended use');
  });
});
