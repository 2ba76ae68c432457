/**
 * How many files the worker processes at once, from the CPUs it has (decision 018). Reading,
 * parsing, de-identification and the writes run on the main thread (the file I/O on libuv's pool);
 * decoding, the LUTs, PNG encoding and the burned-in scan run in the render threads (render-pool.ts),
 * sharp's resizing on libuv's pool from there. Two files per CPU keeps the main thread busy while the
 * threads render the previous files; the byte budget (MAX_BYTES_IN_FLIGHT) still bounds the memory,
 * whatever the count.
 */
import os from 'node:os';

export const FILES_PER_CPU = 2;
export const MAX_DEFAULT_CONCURRENCY = 16;

export function concurrencyFor(cpus: number): number {
  return Math.min(MAX_DEFAULT_CONCURRENCY, Math.max(2, Math.floor(cpus) * FILES_PER_CPU));
}

/** The default for this machine (os.availableParallelism: the CPUs this process may run on). */
export const defaultConcurrency = (): number => concurrencyFor(os.availableParallelism());

/**
 * Render threads for `maxConcurrent` files at once: one per CPU (maxConcurrent / FILES_PER_CPU).
 * A thread renders one file at a time, its libvips work running on libuv's pool meanwhile; each
 * thread costs its start-up (module loading, about a third of a second of CPU) and 20 to 30 MB.
 * On ct-300 (2 CPUs), two threads took less CPU and 70 MB less memory than four, in no more time
 * (decision 018).
 */
export function renderThreadsFor(maxConcurrent: number): number {
  return Math.max(1, Math.ceil(maxConcurrent / FILES_PER_CPU));
}
