/** One row of the bench's table; each section of the bench (side by side, in process, OCR ...) adds rows. */
export interface Row {
  /** Which section made it (side-by-side, in-process ...). */
  readonly section: string;
  readonly corpus: string;
  /** What the tool did (de-identify + write + render, render only ...). */
  readonly step: string;
  readonly tool: string;
  readonly files: number;
  /** Files that came out processed (exit 0 / no error). */
  readonly ok: number;
  /** Seconds: the median of `runs` where the tool ran more than once. */
  readonly seconds: number;
  /** How many times it ran, and its fastest and slowest run (side by side). */
  readonly runs?: { readonly count: number; readonly min: number; readonly max: number };
  readonly mb: number;
  /** CPU seconds (user + system, every thread and child), the median over runs. */
  readonly cpuSeconds?: number;
  readonly peakRssMb?: number;
  readonly note?: string;
}

export const filesPerSecond = (r: Row) => r.files / r.seconds;
export const mbPerSecond = (r: Row) => r.mb / r.seconds;
