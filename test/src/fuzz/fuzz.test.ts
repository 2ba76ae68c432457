/**
 * The short fuzz run of `npm test` (the long run is `npm run fuzz`, figures in the README): mutated
 * sample and corpus files through the worker's per-file steps. Every input must end processed or
 * quarantined with a reason code, with no exception, no leak of a PHI marker or object key, and
 * the peak memory within the allowance.
 */
import { processedKeys } from '@medimg/common';
import { T, writePart10 } from '@medimg/dicom';
import { parseDeidOptions } from '@medimg/worker/deid/options.ts';
import { textImageSet } from '@medimg/worker/deid/testing/text-images.ts';
import { renderImage } from '@medimg/worker/imaging/render.ts';
import { RenderPool } from '@medimg/worker/imaging/render-pool.ts';
import { inputIdOf, processFile } from '@medimg/worker/pipeline/process-file.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { context, fuzz, leaks, MemoryStore } from './harness.ts';
import { MUTATIONS, nodesOf } from './mutate.ts';
import { loadSeeds, PHI_MARKER, type Seed } from './seeds.ts';

let seeds: Seed[];
beforeAll(async () => {
  seeds = await loadSeeds();
});

describe('fuzzing the worker', () => {
  it('ends 600 mutated inputs processed or quarantined, with no finding', { timeout: 240_000 }, async () => {
    const report = await fuzz(seeds, {
      seed: 19,
      count: 600,
      bombEvery: 150,
      maxDecodedBytes: 32 * 1024 * 1024,
    });

    expect(report.findings).toEqual([]);
    expect(report.inputs).toBe(600);
    expect(report.processed + report.quarantined).toBe(600);
    // The mutations reach every step: some inputs survive them, many do not, for several reasons.
    expect(report.processed).toBeGreaterThan(0);
    expect(Object.keys(report.byReason).length).toBeGreaterThanOrEqual(4);
    expect(report.byReason.DECODED_SIZE_LIMIT).toBeGreaterThan(0);
    for (const m of [...MUTATIONS.map((x) => x.name), 'deflate-bomb'])
      expect(report.byMutation[m]?.inputs).toBeGreaterThan(0);
  });

  it('finds structure to mutate in the seeds: elements, sequences, delimiters and compressed fragments', () => {
    const nodes = seeds.flatMap((s) => nodesOf(s));
    const kinds = new Set(nodes.map((n) => n.kind));

    expect([...kinds].sort()).toEqual(['delimiter', 'element', 'fragment', 'item']);
    expect(seeds.some((s) => s.ts === '1.2.840.10008.1.2.4.201')).toBe(true);
  });

  it('sees a marker or an object key in a processed output (the leak scan can fail)', () => {
    const store = new MemoryStore();
    const rawKey = `uploads/${PHI_MARKER}-DOE/1.dcm`;
    store.objects.set('processed/studies/a/b.json', Buffer.from(`{"name":"${PHI_MARKER}^NAME"}`));
    store.objects.set('processed/jobs/j/r.json', Buffer.from(JSON.stringify({ key: rawKey })));
    store.objects.set('raw/quarantine/x.json', Buffer.from(rawKey));

    const found = leaks(store, new Set(), rawKey);

    expect(found).toEqual([
      'marker in processed/studies',
      'marker in processed/jobs',
      'object key in processed/jobs',
    ]);
  });

  it('quarantines a text value whose length swallows the next element (a name), the leak the long run found', async () => {
    const seed = seeds.find((x) => x.name.startsWith('samples/mr-head'))!;
    const nodes = nodesOf(seed);
    const at = nodes.findIndex((n) => n.tag === T.InstitutionName);
    const [before, inst] = [nodes[at - 1]!, nodes[at]!];
    const bytes = new Uint8Array(seed.bytes);
    // The element before Institution Name now ends where Institution Name's value ends.
    new DataView(bytes.buffer).setUint16(before.lengthAt, inst.valueAt + inst.length - before.valueAt, true);
    const store = new MemoryStore();
    store.objects.set('raw/in/1.dcm', bytes);

    const result = await processFile(
      { index: 0, key: 'in/1.dcm', size: bytes.length },
      context(store, new Uint8Array(32), 1 << 26, 'job-s', renderImage),
    );

    expect(before.lengthSize).toBe(2);
    expect(result).toEqual({ status: 'quarantined', reason: 'DICOM_MALFORMED', step: 'parse' });
    expect(leaks(store, new Set(), 'in/1.dcm')).toEqual([]);
  });

  it('quarantines with PROCESSING_TIMEOUT an image whose render never ends', async () => {
    const pool = new RenderPool({
      size: 1,
      timeoutMs: 300,
      threadUrl: new URL('../../../worker/src/imaging/testing/stuck-thread.mjs', import.meta.url),
    });
    const seed = seeds.find((s) => s.name.startsWith('samples/mr-head'))!;
    const store = new MemoryStore();
    store.objects.set('raw/in/1.dcm', seed.bytes);
    const hang = () =>
      pool.render({ meta: new Map(), dataset: new Map(), transferSyntax: { uid: 'hang' } } as never);

    const result = await processFile(
      { index: 0, key: 'in/1.dcm', size: seed.bytes.length },
      context(store, new Uint8Array(32), 1 << 26, 'job-t', hang),
    );
    await pool.close();

    expect(result).toEqual({ status: 'quarantined', reason: 'PROCESSING_TIMEOUT', step: 'normalize' });
    const reasonKey = `processed/${processedKeys.quarantine('job-t', inputIdOf(new Uint8Array(32), 'in/1.dcm'))}`;
    expect(JSON.parse(Buffer.from(store.objects.get(reasonKey) ?? '{}').toString()).reason).toBe(
      'PROCESSING_TIMEOUT',
    );
  });

  it('quarantines with PROCESSING_TIMEOUT at deidentify an image whose text scan never ends', async () => {
    // The real pool thread with its RLE codec stuck during the burned-in text scan.
    const pool = new RenderPool({
      size: 1,
      timeoutMs: 1000,
      threadUrl: new URL('../../../worker/src/imaging/testing/stuck-scan-thread.mjs', import.meta.url),
    });
    const [rle] = await textImageSet({ textPerKind: 1, cleanPerKind: 0, kinds: ['us-rle'], seed: 34 });
    const bytes = writePart10(rle!.file);
    const store = new MemoryStore();
    store.objects.set('raw/in/1.dcm', bytes);
    const base = context(store, new Uint8Array(32), 1 << 26, 'job-u', pool.forFile());

    const result = await processFile(
      { index: 0, key: 'in/1.dcm', size: bytes.length },
      { ...base, deid: { ...base.deid, options: parseDeidOptions({ burnedInPolicy: 'redact' }) } },
    );
    await pool.close();

    expect(result).toEqual({ status: 'quarantined', reason: 'PROCESSING_TIMEOUT', step: 'deidentify' });
    expect(pool.timeouts).toBe(1);
    expect(leaks(store, new Set(), 'in/1.dcm')).toEqual([]);
  });
});
