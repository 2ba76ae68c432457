/**
 * The fuzz harness: feeds inputs to the worker's processFile (fetch, parse, de-identify, normalize,
 * store) in this process, as a worker task does, with an in-memory object store, and checks each
 * outcome:
 *   - it is `processed` or `quarantined` with a reason code from common's REASON_CODES
 *     (`failed` cannot come from this store, so it counts as a finding);
 *   - processFile resolves (no exception escapes) within the per-file time bound plus a margin;
 *   - nothing written to the processed bucket, no processed key and no reason record holds a
 *     PHI marker (seeds.ts) or the input's object key;
 *   - the process's peak resident memory stays within the decoded-size budget plus a fixed allowance.
 */

import type { ObjectInfo, ObjectStore, PutOptions } from '@medimg/common';
import { REASON_CODES } from '@medimg/common';
import type { DicomFile } from '@medimg/dicom';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import type { RenderedImage } from '@medimg/worker/imaging/render.ts';
import { type FileThreads, RenderPool } from '@medimg/worker/imaging/render-pool.ts';
import { type FileResult, processFile } from '@medimg/worker/pipeline/process-file.ts';
import { deflateBomb, MUTATIONS, type Node, nodesOf, random } from './mutate.ts';
import { PHI_MARKER, type Seed } from './seeds.ts';

const RAW = 'raw';
const PROCESSED = 'processed';
const LINKAGE = 'linkage';
const MiB = 1024 * 1024;

/** A bucket map in memory; implements the worker's ObjectStore port. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  private id = (bucket: string, key: string): string => `${bucket}/${key}`;
  async get(bucket: string, key: string): Promise<Uint8Array> {
    const o = this.objects.get(this.id(bucket, key));
    if (!o) throw Object.assign(new Error('no such object'), { code: 'NOT_FOUND' });
    return o;
  }
  async getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(this.id(bucket, key));
  }
  async put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    if (options?.ifNoneMatch && this.objects.has(this.id(bucket, key))) return false;
    this.objects.set(this.id(bucket, key), typeof body === 'string' ? Buffer.from(body) : body);
    return true;
  }
  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(this.id(bucket, key));
    return o ? { key, size: o.length } : undefined;
  }
  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const p = this.id(bucket, prefix);
    return [...this.objects]
      .filter(([k]) => k.startsWith(p))
      .map(([k, v]) => ({ key: k.slice(bucket.length + 1), size: v.length }));
  }
}

export interface FuzzOptions {
  readonly seed: number;
  readonly count: number;
  /** Stop after this many milliseconds even if `count` is not reached. */
  readonly timeLimitMs?: number;
  /** Decoded-size budget given to the worker (maxDecodedBytes), default 64 MiB. */
  readonly maxDecodedBytes?: number;
  /** Per-file time bound of the normalize step, as the worker's FILE_TIMEOUT_MS (default 20 s). */
  readonly fileTimeoutMs?: number;
  /** One input in this many is a deflate bomb (default 250). */
  readonly bombEvery?: number;
  /** Called with each finding and the input that caused it (to keep reproducers). */
  readonly onFinding?: (finding: Finding, input: Uint8Array) => void;
  /** Called after each input (progress). */
  readonly onInput?: (n: number, record: InputRecord) => void;
}

export interface InputRecord {
  readonly n: number;
  readonly seed: string;
  readonly mutation: string;
  readonly size: number;
  readonly outcome: string;
  readonly ms: number;
}

export interface Finding {
  readonly n: number;
  readonly seed: string;
  readonly mutation: string;
  readonly problem: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly inputs: number;
  readonly processed: number;
  readonly quarantined: number;
  readonly byReason: Record<string, number>;
  readonly byMutation: Record<string, { inputs: number; processed: number; quarantined: number }>;
  readonly findings: Finding[];
  /** Renders stopped at the per-file time bound (quarantined PROCESSING_TIMEOUT). */
  readonly renderTimeouts: number;
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly totalMs: number;
  readonly peakRssMiB: number;
  readonly baselineRssMiB: number;
  readonly rssAllowanceMiB: number;
}

/** Peak resident set size of this process so far (monotonic), in MiB. */
const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Everything in the processed bucket that an input may have written: keys and bodies. */
export function leaks(store: MemoryStore, since: ReadonlySet<string>, rawKey: string): string[] {
  const found: string[] = [];
  for (const [id, body] of store.objects) {
    if (since.has(id) || !id.startsWith(`${PROCESSED}/`)) continue;
    if (id.includes(PHI_MARKER) || id.includes(rawKey)) found.push(`key ${id.slice(0, 60)}`);
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
    if (text.includes(PHI_MARKER)) found.push(`marker in ${id.split('/').slice(0, 2).join('/')}`);
    if (text.includes(rawKey)) found.push(`object key in ${id.split('/').slice(0, 2).join('/')}`);
  }
  return found;
}

/** Runs the fuzzer. Deterministic for a given seed, seed files and count (timings aside). */
export async function fuzz(seeds: readonly Seed[], options: FuzzOptions): Promise<FuzzReport> {
  const r = random(options.seed);
  const budget = options.maxDecodedBytes ?? 64 * MiB;
  const bombEvery = options.bombEvery ?? 250;
  const nodes = new Map<Seed, Node[]>(seeds.map((s) => [s, nodesOf(s)]));
  const key = new Uint8Array(32).fill(0x19);
  const byReason: Record<string, number> = {};
  const byMutation: FuzzReport['byMutation'] = {};
  const findings: Finding[] = [];
  const times: number[] = [];
  let processed = 0;
  let quarantined = 0;
  const started = performance.now();
  // Every decode (the burned-in text scan, re-encoding, rendering) runs in the worker's pool of
  // threads under one deadline per file, as in a job.
  const pool = new RenderPool({ size: 1, timeoutMs: options.fileTimeoutMs ?? 20_000 });
  // Warm the codecs and sharp on the unmutated seeds first, so the baseline includes them.
  const warm = new MemoryStore();
  for (const [i, s] of seeds.entries()) {
    warm.objects.set(`${RAW}/warm/${i}`, s.bytes);
    await processFile(
      { index: i, key: `warm/${i}`, size: s.bytes.length },
      context(warm, key, budget, 'warm', pool.forFile()),
    );
  }
  const baselineRssMiB = peakRssMiB();
  // The budget bounds one decoded frame or data set; a handful of copies of it (decode buffer,
  // normalised samples, sharp's input) plus sharp's and the codecs' working memory are allowed.
  const rssAllowanceMiB = (4 * budget) / MiB + 512;
  let n = 0;
  for (; n < options.count; n++) {
    if (options.timeLimitMs !== undefined && performance.now() - started > options.timeLimitMs) break;
    const seed = r.pick(seeds);
    let mutation: string;
    let bytes: Uint8Array | undefined;
    if (n % bombEvery === bombEvery - 1) {
      mutation = 'deflate-bomb';
      bytes = deflateBomb(r.pick([budget + 2, 4 * budget]));
    } else {
      const m = r.pick(MUTATIONS);
      mutation = m.name;
      bytes = m.apply(seed, nodes.get(seed) ?? [], r);
      if (!bytes) {
        mutation = 'bit-flip';
        bytes = MUTATIONS[0]!.apply(seed, nodes.get(seed) ?? [], r)!;
      }
    }
    const store = new MemoryStore();
    // The object key carries a marker too: an uploader's folder named after the patient.
    const rawKey = `uploads/${PHI_MARKER}-DOE-JOHN/${n}-${PHI_MARKER}.dcm`;
    store.objects.set(`${RAW}/${rawKey}`, bytes);
    const before = new Set(store.objects.keys());
    const t0 = performance.now();
    let result: FileResult | undefined;
    let outcome: string;
    const stat = byMutation[mutation] ?? { inputs: 0, processed: 0, quarantined: 0 };
    byMutation[mutation] = stat;
    stat.inputs += 1;
    const input = bytes;
    const finding = (problem: string): void => {
      const f = { n, seed: seed.name, mutation, problem };
      findings.push(f);
      options.onFinding?.(f, input);
    };
    try {
      result = await processFile(
        { index: n, key: rawKey, size: bytes.length },
        context(store, key, budget, `job-${n}`, pool.forFile()),
      );
    } catch (error) {
      finding(`processFile threw ${(error as Error)?.name ?? typeof error}`);
    }
    const ms = performance.now() - t0;
    times.push(ms);
    if (result?.status === 'processed') {
      processed += 1;
      stat.processed += 1;
      outcome = 'processed';
    } else if (result?.status === 'quarantined') {
      quarantined += 1;
      stat.quarantined += 1;
      outcome = `quarantined ${result.reason}`;
      byReason[result.reason] = (byReason[result.reason] ?? 0) + 1;
      if (!Object.hasOwn(REASON_CODES, result.reason)) finding(`unknown reason ${result.reason}`);
    } else {
      outcome = result ? `failed ${result.errorCode}` : 'threw';
      if (result) finding(`failed ${result.errorCode} at ${result.step}`);
    }
    for (const leak of leaks(store, before, rawKey)) finding(`leak: ${leak}`);
    const rss = peakRssMiB();
    if (rss > baselineRssMiB + rssAllowanceMiB) finding(`peak RSS ${Math.round(rss)} MiB over the allowance`);
    options.onInput?.(n, { n, seed: seed.name, mutation, size: bytes.length, outcome, ms });
  }
  await pool.close();
  const sorted = [...times].sort((a, b) => a - b);
  return {
    seed: options.seed,
    inputs: n,
    processed,
    quarantined,
    byReason,
    byMutation,
    findings,
    renderTimeouts: pool.timeouts,
    maxMs: sorted[sorted.length - 1] ?? 0,
    p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    totalMs: performance.now() - started,
    peakRssMiB: peakRssMiB(),
    baselineRssMiB,
    rssAllowanceMiB,
  };
}

export function context(
  store: MemoryStore,
  key: Uint8Array,
  budget: number,
  jobId: string,
  /** A render function, or one file's pool threads (every decode of the file under one deadline). */
  render: ((file: DicomFile) => Promise<RenderedImage>) | FileThreads,
) {
  return {
    ...(typeof render === 'function'
      ? { render }
      : { render: (file: DicomFile) => render.render(file), pixelThreads: render }),
    jobId,
    rawBucket: RAW,
    processedBucket: PROCESSED,
    linkageBucket: LINKAGE,
    store,
    deid: { key, options: DEFAULT_DEID_OPTIONS },
    maxObjectBytes: 512 * MiB,
    maxDecodedBytes: budget,
    linkageWrites: new Map<string, Promise<boolean>>(),
    onStep: () => {},
  };
}
