/** Exponential backoff with full jitter: 250 ms doubling, at most 8 s. */
export function backoff(attempt: number): number {
  return Math.random() * Math.min(8000, 250 * 2 ** attempt);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
