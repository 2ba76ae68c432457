/**
 * The upload progress line: files, bytes, rate and time left. On a terminal one line redrawn in
 * place; otherwise (a log, a pipe, CI) a plain line at each tenth of the bytes and at the end.
 */

export interface ProgressSnapshot {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly elapsedMs: number;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** `12/57 files  3.40 MB/9.50 MB  1.20 MB/s  6 s left` */
export function formatProgress(s: ProgressSnapshot): string {
  const rate = s.elapsedMs > 0 ? (s.bytesDone * 1000) / s.elapsedMs : 0;
  const left = s.bytesTotal - s.bytesDone;
  const eta = left === 0 ? 'done' : rate > 0 ? `${formatDuration(left / rate)} left` : 'time left unknown';
  return `${s.filesDone}/${s.filesTotal} files  ${formatBytes(s.bytesDone)}/${formatBytes(s.bytesTotal)}  ${formatBytes(Math.round(rate))}/s  ${eta}`;
}

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export class ProgressReporter {
  readonly #out: ProgressOutput;
  readonly #clock: () => number;
  readonly #start: number;
  #lastDraw = 0;
  #lastTenth = -1;
  #drawn = false;

  constructor(out: ProgressOutput, clock: () => number = Date.now) {
    this.#out = out;
    this.#clock = clock;
    this.#start = clock();
  }

  update(s: Omit<ProgressSnapshot, 'elapsedMs'>): void {
    const now = this.#clock();
    const snapshot = { ...s, elapsedMs: now - this.#start };
    const finished = s.bytesDone >= s.bytesTotal && s.filesDone >= s.filesTotal;
    if (this.#out.isTTY) {
      if (!finished && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      this.#out.write(`\r\x1b[2K${formatProgress(snapshot)}`);
      this.#drawn = true;
      return;
    }
    const tenth = s.bytesTotal === 0 ? 10 : Math.floor((s.bytesDone * 10) / s.bytesTotal);
    if (tenth === this.#lastTenth && !finished) return;
    if (finished && this.#lastTenth === 10) return;
    this.#lastTenth = finished ? 10 : tenth;
    this.#out.write(`upload: ${formatProgress(snapshot)}\n`);
  }

  /** Ends the redrawn line, so the next message starts on its own. */
  end(): void {
    if (this.#drawn) this.#out.write('\n');
    this.#drawn = false;
  }
}
