/**
 * The report page's own guarantees, whatever it is given: self-contained (no URL it could fetch),
 * values escaped, images only as PNG data URIs. What it shows is checked in headless Chromium by
 * test/src/e2e/cli.test.ts and the demo's test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processedKeys, REASON_CODES } from '@medimg/common';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { newJobStatus } from '../pipeline/status.ts';
import { renderReportHtml } from './html.ts';
import { collectRunReport, type ReportInput, type RunReport } from './model.ts';

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
            assessment: 'not assessed (out of scope)',
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
    expect(renderReportHtml(report())).toContain('not assessed (out of scope)');
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

describe('inputs set aside in the report', () => {
  const jobId = 'job-0123456789abcdef01234567';
  const burned: ReportInput = {
    index: 2,
    inputId: 'in-0123456789abcdef0123',
    jobId,
    status: 'quarantined',
    reason: 'BURNED_IN_TEXT',
    step: 'deidentify',
    textCheck: { textBoxes: 4, phiMatches: 2, action: 'quarantined' },
  };
  const truncated: ReportInput = {
    index: 3,
    inputId: 'in-abcdef0123456789abcd',
    jobId,
    status: 'quarantined',
    reason: 'DICOM_TRUNCATED',
    step: 'parse',
  };
  const row = (html: string, reason: string) => {
    const at = html.indexOf(`<tr data-set-aside="${reason}">`);
    return html.slice(at, html.indexOf('</tr>', at));
  };

  it('shows the burned-in text counts and action of a quarantined input whose pixels were scanned', () => {
    const html = renderReportHtml(report({ setAside: [burned, truncated] }));

    expect(html).toContain('<th>burned-in text</th>');
    expect(row(html, 'BURNED_IN_TEXT')).toContain(
      '<td data-text-check="quarantined" data-text-boxes="4" data-phi-matches="2">4 region(s), 2 matching the header: quarantined</td>',
    );
    expect(row(html, 'DICOM_TRUNCATED').endsWith('<td>parse</td><td>-</td>')).toBe(true);
  });

  it('shows nothing but counts and the closed vocabulary, whatever the job record holds', () => {
    const forged = [
      { textBoxes: 1, phiMatches: 0, action: 'DOE^JOHN' },
      { textBoxes: '3 DOE^JOHN', phiMatches: 0, action: 'quarantined' },
      { textBoxes: 1, phiMatches: -1, action: 'quarantined' },
    ];
    for (const textCheck of forged) {
      const html = renderReportHtml(report({ setAside: [{ ...burned, textCheck: textCheck as never }] }));

      expect(row(html, 'BURNED_IN_TEXT').endsWith('<td>deidentify</td><td>-</td>')).toBe(true);
      expect(html).not.toContain('DOE');
      expect(html).not.toContain('data-text-check');
    }
  });

  it('takes a quarantined file’s text check from the job record, counts and action only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'report-model-'));
    try {
      const status = newJobStatus(jobId, undefined, 2, new Date('2026-12-02T00:00:00Z'));
      status.files[0] = {
        index: 0,
        inputId: burned.inputId,
        status: 'quarantined',
        reason: 'BURNED_IN_TEXT',
        step: 'deidentify',
        textCheck: {
          checked: true,
          frames: 1,
          textBoxes: 4,
          phiMatches: 2,
          action: 'quarantined',
          ocrMs: 812,
        },
      };
      status.files[1] = {
        index: 1,
        inputId: truncated.inputId,
        status: 'quarantined',
        reason: 'DICOM_TRUNCATED',
        step: 'parse',
      };

      const collected = await collectRunReport({
        store: new FsObjectStore(dir),
        processedBucket: 'processed',
        statuses: [status],
      });

      expect(collected.setAside).toEqual([
        { ...burned, index: 0, meaning: REASON_CODES.BURNED_IN_TEXT },
        { ...truncated, index: 1, meaning: REASON_CODES.DICOM_TRUNCATED },
      ]);
      // A person reads the reason in words beside its code.
      const html = renderReportHtml(report({ setAside: collected.setAside }));
      expect(row(html, 'DICOM_TRUNCATED')).toContain(
        '<span class="mono">DICOM_TRUNCATED</span><br><span class="meaning">The data set ends before an element it announces.</span>',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a series the model did not assess, as collected from the job', () => {
  it('gives the reason in the closed vocabulary’s words, not as a code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'report-model-'));
    try {
      const store = new FsObjectStore(dir);
      const status = newJobStatus('job-1', undefined, 1, new Date('2026-12-02T00:00:00Z'));
      status.files[0] = {
        index: 0,
        inputId: 'in-abcdef0123456789abcd',
        status: 'processed',
        study: '2.25.1',
        series: '2.25.2',
        sop: '2.25.3',
      };
      const results = {
        study: '2.25.1',
        inference: 'succeeded',
        model: { name: 'm', version: '1' },
        thresholds: {},
        critical: [],
        series: [
          {
            series: '2.25.2',
            modality: 'DX',
            instances: 1,
            findings: [],
            notAssessed: { reason: 'OUT_OF_SCOPE' },
          },
        ],
      };
      await store.put('processed', processedKeys.results('2.25.1'), JSON.stringify(results));

      const collected = await collectRunReport({ store, processedBucket: 'processed', statuses: [status] });

      expect(collected.studies[0]?.series[0]?.assessment).toBe('not assessed (out of scope)');
      expect(renderReportHtml(collected)).not.toContain('OUT_OF_SCOPE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
