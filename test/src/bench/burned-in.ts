/**
 * Burned-in text figures for `npm run bench`: the redact policy on a generated set that the
 * detector was NOT tuned on (its own seed), scored against where the text was drawn: recall (text
 * images whose text did not leave), redacted-and-processed share, leaks, false alarms (clean images
 * altered or quarantined), and time (scan without OCR, OCR, engine start-up).
 */
import os from 'node:os';
import { TesseractReader, type TextReader } from '@medimg/worker/deid/ocr.ts';
import { type CaseOutcome, runCase, score } from '@medimg/worker/deid/testing/evaluate.ts';
import { ALL_KINDS, textImageSet } from '@medimg/worker/deid/testing/text-images.ts';
import { scanForText } from '@medimg/worker/deid/text-scan.ts';

const pct = (n: number, d: number): string => `${n}/${d} (${d ? ((100 * n) / d).toFixed(0) : '-'}%)`;

/**
 * Seeds of the generated sets: BENCH_TEXT_SEED (comma-separated), by default two held-out seeds
 * (4242, 2027), each reported on its own. The tests use seed 34, the tuning set seed 12.
 */
export async function benchBurnedIn(out: (line: string) => void): Promise<void> {
  const seeds = (process.env.BENCH_TEXT_SEED ?? '4242,2027').split(',').map((s) => Number(s.trim()));
  const load = (): string =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  out(`\nburned-in text: load average ${load()} at start (times depend on it)`);
  for (const seed of seeds) await benchSeed(out, seed);
  out(`burned-in text: load average ${load()} at end`);
}

async function benchSeed(out: (line: string) => void, seed: number): Promise<void> {
  const textPerKind = 10;
  const cleanPerKind = 5;
  const t0 = performance.now();
  const cases = await textImageSet({ textPerKind, cleanPerKind, seed });
  out(
    `\nburned-in text: ${cases.length} generated images (${ALL_KINDS.join(', ')}; ${textPerKind} with text and ${cleanPerKind} clean of each; seed ${seed}), made in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const reader = new TesseractReader(['eng', 'fra']);
  try {
    const first = cases.find((c) => c.lines > 0)!;
    const s0 = performance.now();
    await runCase(first, reader); // starts the engine (English + French)
    const startup = performance.now() - s0;

    // Detection alone on 800x600 frames (the us-rle kind), OCR replaced by a reader that reads nothing.
    const blind: TextReader = { readCrops: async (c) => c.map(() => []), close: async () => {} };
    const big = cases.filter((c) => c.rows === 600 && c.columns === 800);
    const d0 = performance.now();
    for (const c of big) await scanForText(c.file, blind, undefined);
    const detectMs = (performance.now() - d0) / Math.max(1, big.length);

    const outcomes: CaseOutcome[] = [];
    for (const c of cases) outcomes.push(await runCase(c, reader));
    const s = score(outcomes);
    const bigOcr = outcomes.filter((o) => big.some((b) => b.name === o.name) && o.text);
    const ocrBig = bigOcr.reduce((n, o) => n + (o.check?.ocrMs ?? 0), 0) / Math.max(1, bigOcr.length);

    out(`  text gone (recall):         ${pct(s.textGone, s.textImages)}   leaks: ${s.leaks}`);
    out(`  processed and redacted:     ${pct(s.redacted, s.textImages)}   (the rest quarantined)`);
    out(`  false alarms (clean images altered or quarantined): ${pct(s.falseAlarms, s.cleanImages)}`);
    out(
      `  time per image: ${s.msPerImage.toFixed(0)} ms in all (scan, redact, re-scan), of which OCR ${s.ocrMsPerImage.toFixed(0)} ms`,
    );
    out(
      `  800x600 frame: detection without OCR ${detectMs.toFixed(0)} ms; OCR of the candidates of a text image ${ocrBig.toFixed(0)} ms (both scans)`,
    );
    out(`  OCR engine start-up (once per process, eng+fra): ${startup.toFixed(0)} ms`);
    out('  per kind (text gone / redacted / text images; false alarms / clean images):');
    for (const kind of ALL_KINDS) {
      const mine = outcomes.filter((o) => new RegExp(`^${kind}-(text|clean)-`).test(o.name));
      const k = score(mine);
      out(
        `    ${kind.padEnd(10)} ${k.textGone}/${k.redacted}/${k.textImages}; ${k.falseAlarms}/${k.cleanImages}; ${k.msPerImage.toFixed(0)} ms per image`,
      );
    }
    const leaks = outcomes.filter((o) => o.text && o.status === 'processed' && o.blankedShare !== 1);
    for (const l of leaks)
      out(`  LEAK ${l.name}: ${((l.blankedShare ?? 0) * 100).toFixed(1)}% of text pixels blanked`);
    const quarantined = outcomes.filter((o) => o.status === 'quarantined');
    for (const q of quarantined) out(`  quarantined ${q.name}: ${q.reason}`);
    for (const f of outcomes.filter((o) => !o.text && o.altered)) out(`  FALSE ALARM ${f.name}: altered`);
  } finally {
    await reader.close();
  }
}
