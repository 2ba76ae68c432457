/**
 * `medimg status <batchId> [--wait]`: a batch's state and results from the upload API. With --wait,
 * asks again until the job has ended. Exits 1 when the job failed.
 */
import { parseArgs } from 'node:util';
import { UploadApiClient } from '../client/api-client.ts';
import { sleep } from '../client/retry.ts';
import type { BatchStatus } from '../contract.ts';
import { type CliIo, describeApiError } from './upload.ts';

export const STATUS_USAGE = `Usage: medimg status <batchId> [--api URL] [--wait] [--interval SECONDS] [--timeout SECONDS] [--json]

Shows an upload batch's state (waiting-for-files, running, completed, failed), its counts of
processed, quarantined and failed files, critical findings and links to the study results.

  --api URL           the upload API (stack output UploadApiUrl); default: $MEDIMG_API_URL
  --wait              ask again until the job has completed or failed
  --interval SECONDS  between two questions with --wait (default 5)
  --timeout SECONDS   give up waiting after this long (default: wait as long as it takes)
  --json              print the API's answer as JSON

Exit codes: 0 completed (or, without --wait, not failed), 1 the job failed, 64 usage error,
69 the API could not answer (unknown batch, credentials, network), 75 --timeout reached.`;

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

export async function runStatus(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const parse = () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        wait: { type: 'boolean' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    io.stderr.write(
      `medimg status: ${err instanceof Error ? err.message : 'bad arguments'}\n\n${STATUS_USAGE}\n`,
    );
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  const usage = (message: string) => {
    io.stderr.write(`medimg status: ${message}\n\n${STATUS_USAGE}\n`);
    return 64;
  };
  const api = values.api ?? io.env.MEDIMG_API_URL;
  if (!api) return usage('no API: give --api URL or set MEDIMG_API_URL');
  if (positionals.length !== 1) return usage('give exactly one batch id');
  const interval = values.interval === undefined ? 5 : Number(values.interval);
  if (!(interval > 0)) return usage('--interval must be a positive number of seconds');
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) return usage('--timeout must be a positive number of seconds');

  const client = new UploadApiClient({ url: api, ...(values.region ? { region: values.region } : {}) });
  const batchId = positionals[0]!;
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
