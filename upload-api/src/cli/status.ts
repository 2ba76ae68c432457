/**
 * `medimg status <batchId> [--wait]`: a batch's state and results from the upload API. With --wait,
 * asks again until the job has ended. Exits 1 when the job failed.
 */
import { sleep } from '../client/retry.ts';
import type { BatchStatus } from '../contract.ts';
import { apiClient, type CliIo, describeApiError, UsageProblem } from './upload.ts';

/** The command's parsed options (the worker's CLI declares them, with their help: `medimg status --help`). */
export interface StatusRequest {
  readonly batchId: string;
  readonly api?: string | undefined;
  readonly wait?: boolean | undefined;
  readonly interval?: string | undefined;
  readonly timeout?: string | undefined;
  readonly json?: boolean | undefined;
  readonly region?: string | undefined;
  readonly requestTimeout?: string | undefined;
}

function describe(s: BatchStatus): string {
  const lines = [
    `batch ${s.batchId}: ${s.state}`,
    `  files: ${s.files} uploaded; processed ${s.counts.processed}, quarantined ${s.counts.quarantined}, failed ${s.counts.failed}`,
    `  critical findings: ${s.criticalFindings}`,
  ];
  if (s.jobId) lines.push(`  job: ${s.jobId}`);
  for (const r of s.reports) lines.push(`  study ${r.study}: ${r.url}`);
  return `${lines.join('\n')}\n`;
}

/** Throws UsageProblem before any request when the options do not make a valid question. */
export async function runStatus(
  request: StatusRequest,
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const values = request;
  const api = values.api ?? io.env.MEDIMG_API_URL;
  if (!api) throw new UsageProblem('no API: give --api URL or set MEDIMG_API_URL');
  const interval = values.interval === undefined ? 5 : Number(values.interval);
  if (!(interval > 0)) throw new UsageProblem('--interval must be a positive number of seconds');
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0))
    throw new UsageProblem('--timeout must be a positive number of seconds');

  const client = apiClient(api, values, io.env);
  const batchId = request.batchId;
  const deadline = timeout === undefined ? undefined : Date.now() + timeout * 1000;
  let lastState = '';
  for (;;) {
    let s: BatchStatus;
    try {
      s = await client.status(batchId);
    } catch (err) {
      io.stderr.write(`medimg status: ${describeApiError(err)}\n`);
      return 69;
    }
    const ended = s.state === 'completed' || s.state === 'failed';
    if (ended || !values.wait) {
      io.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : describe(s));
      return s.state === 'failed' ? 1 : 0;
    }
    if (s.state !== lastState) io.stderr.write(`medimg: batch ${batchId}: ${s.state}\n`);
    lastState = s.state;
    if (deadline !== undefined && Date.now() >= deadline) {
      io.stderr.write(`medimg status: still ${s.state} after ${timeout} s\n`);
      return 75;
    }
    await sleep(interval * 1000);
  }
}
