import { describe, expect, it } from 'vitest';
import { markdownReport, ratios, textTable } from './report.ts';
import type { Row } from './rows.ts';
import { median, summarise } from './side-by-side.ts';
import { cpuSecondsOf } from './tools.ts';

const row = (tool: string, seconds: number[], ok = 300): Row => ({
  section: 'side-by-side',
  corpus: 'ct-300',
  step: 'step',
  tool,
  files: 300,
  mb: 157.7,
  ...summarise(seconds.map((s) => ({ seconds: s, cpuSeconds: 1.5 * s, peakRssMb: 10 * s, ok }))),
});

describe('bench side by side over several runs', () => {
  it('reads CPU time as user plus system seconds from /usr/bin/time -v', () => {
    const report = [
      '\tUser time (seconds): 4.31',
      '\tSystem time (seconds): 0.65',
      '\tPercent of CPU this job got: 170%',
    ].join('\n');
    expect(cpuSecondsOf(report)).toBeCloseTo(4.96);
    expect(cpuSecondsOf('\tUser time (seconds): 4.31')).toBeNaN();
  });

  it('gives no CPU time for a tool when a run lacks it, rather than the median of the others', () => {
    expect(
      summarise([
        { seconds: 1, cpuSeconds: 2, peakRssMb: 1, ok: 1 },
        { seconds: 1, peakRssMb: 1, ok: 1 },
      ]),
    ).not.toHaveProperty('cpuSeconds');
  });

  it('takes the median run, the fastest and slowest, the largest peak and the fewest files done', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const s = summarise([
      { seconds: 3.1, cpuSeconds: 5.2, peakRssMb: 190, ok: 300 },
      { seconds: 2.6, cpuSeconds: 4.6, peakRssMb: 210, ok: 299, note: 'errors: {"x":1}' },
      { seconds: 2.8, cpuSeconds: 4.9, peakRssMb: 195, ok: 300 },
    ]);
    expect(s).toEqual({
      seconds: 2.8,
      cpuSeconds: 4.9,
      runs: { count: 3, min: 2.6, max: 3.1 },
      peakRssMb: 210,
      ok: 299,
      note: 'errors: {"x":1}',
    });
  });

  it('gives ratios of the medians with the worst and best pairing of runs, and leaves out failed references', () => {
    const rows = [
      row('medimg process (CLI)', [2.5, 3, 4]),
      row('gdcmanon + dcm2pnm (sum)', [18, 20, 24]),
      row('pydicom + numpy + Pillow script', [5, 5, 5], 299),
    ];
    const r = ratios(rows);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ reference: 'gdcmanon + dcm2pnm (sum)' });
    expect(r[0]!.ratio).toBeCloseTo(20 / 3);
    expect(r[0]!.low).toBeCloseTo(18 / 4);
    expect(r[0]!.high).toBeCloseTo(24 / 2.5);
    const text = textTable(rows);
    expect(text).toContain('2.50 to 4.00   4.50');
    expect(text).toContain('6.67x (4.50x to 9.60x)');
    const env = {
      machine: { cpuModel: 'cpu', cpus: 2, memoryGiB: 24, loadAverage: [0, 0, 0], platform: 'linux' },
      versions: {},
    } as unknown as Parameters<typeof markdownReport>[0]['environment']['before'];
    const md = markdownReport({
      date: 'd',
      scale: 1,
      runs: 3,
      environment: { before: env, after: env },
      corpora: [],
      rows,
    });
    expect(md).toContain('every tool ran 3 times, interleaved');
    expect(
      markdownReport({
        date: 'd',
        scale: 1,
        runs: 1,
        environment: { before: env, after: env },
        corpora: [],
        rows,
      }),
    ).toContain('every tool ran once; `CPU s` is its CPU time');
    expect(md).toContain('| 3.00 | 2.50 to 4.00 | 4.50 |');
    expect(md).toContain('| ct-300 | gdcmanon + dcm2pnm (sum) | 6.67x (4.50x to 9.60x) |');
  });
});
