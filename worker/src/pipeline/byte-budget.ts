/**
 * Bounded concurrency by bytes in flight (DESIGN D2): a 1 GB multi-frame object and a 500-slice
 * series both fit in the task's memory. A single item larger than the whole budget still runs,
 * alone, rather than waiting forever.
 */
export class ByteBudget {
  private inFlight = 0;
  private running = 0;
  private readonly waiting: Array<{ bytes: number; wake: () => void }> = [];

  constructor(
    private readonly maxBytes: number,
    private readonly maxConcurrent: number,
  ) {}

  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    await this.acquire(bytes);
    try {
      return await work();
    } finally {
      this.release(bytes);
    }
  }

  private fits(bytes: number): boolean {
    if (this.running >= this.maxConcurrent) return false;
    return this.running === 0 || this.inFlight + bytes <= this.maxBytes;
  }

  private acquire(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ bytes, wake: resolve }));
  }

  private take(bytes: number): void {
    this.inFlight += bytes;
    this.running += 1;
  }

  private release(bytes: number): void {
    this.inFlight -= bytes;
    this.running -= 1;
    // First come, first served: the head of the queue goes when it fits.
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.take(next.bytes);
      next.wake();
    }
  }
}
