/**
 * How many files the worker processes at once, from the CPUs it has (decision 018). Parsing,
 * de-identification and the LUTs run on the main thread; decoding codecs run there too, while
 * sharp's resizing and PNG encoding run on libuv's pool. Two files per CPU keeps the main thread
 * busy while the pool encodes the previous files; the byte budget (MAX_BYTES_IN_FLIGHT) still
 * bounds the memory, whatever the count.
 */
import os from 'node:os';

export const FILES_PER_CPU = 2;
export const MAX_DEFAULT_CONCURRENCY = 16;

export function concurrencyFor(cpus: number): number {
  return Math.min(MAX_DEFAULT_CONCURRENCY, Math.max(2, Math.floor(cpus) * FILES_PER_CPU));
}

/** The default for this machine (os.availableParallelism: the CPUs this process may run on). */
export const defaultConcurrency = (): number => concurrencyFor(os.availableParallelism());
