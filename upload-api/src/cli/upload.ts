/**
 * `medimg upload <file-or-folder>... [--api URL]`: finds the DICOM files among the inputs (by
 * content), uploads them as one batch through the upload API's presigned URLs, completes the batch
 * and prints its id on stdout. Progress and messages go to stderr.
 */
import {
  ApiCallError,
  ApiUnavailableError,
  DEFAULT_REQUEST_TIMEOUT_MS,
  UploadApiClient,
} from '../client/api-client.ts';
import { collectFiles } from '../client/files.ts';
import { ProgressReporter } from '../client/progress.ts';
import { defaultStateDir } from '../client/state.ts';
import {
  DEFAULT_STALL_TIMEOUT_MS,
  resumeUpload,
  UploadError,
  type UploadOptions,
  uploadFiles,
} from '../client/uploader.ts';

/** The command's parsed options (the worker's CLI declares them, with their help: `medimg upload --help`). */
export interface UploadRequest {
  readonly inputs: readonly string[];
  readonly api?: string | undefined;
  readonly resume?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly stateDir?: string | undefined;
  readonly region?: string | undefined;
  readonly requestTimeout?: string | undefined;
  readonly stallTimeout?: string | undefined;
}

/** A request that cannot be served as given: the CLI prints it with a pointer to --help, exit 64. */
export class UsageProblem extends Error {
  override readonly name = 'UsageProblem';
}

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

export function describeApiError(err: unknown): string {
  if (err instanceof ApiCallError) {
    const details = [
      err.error.missing?.length ? `missing files: ${err.error.missing.join(', ')}` : '',
      err.error.mismatched?.length
        ? `files with another ${err.error.mismatched.map((m) => `${m.field} (#${m.index})`).join(', ')}`
        : '',
      err.error.index !== undefined ? `file #${err.error.index}` : '',
    ].filter(Boolean);
    return `${err.code}: ${err.error.message}${details.length ? ` (${details.join('; ')})` : ''}`;
  }
  if (err instanceof UploadError || err instanceof ApiUnavailableError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : 'failed';
}

/**
 * A time bound in seconds from its option, else its environment variable, else the default;
 * in milliseconds.
 */
export function secondsOption(
  value: string | undefined,
  env: string | undefined,
  option: string,
  defaultMs: number,
): number {
  const given = value ?? env;
  if (given === undefined || given === '') return defaultMs;
  const s = Number(given);
  if (!(Number.isFinite(s) && s > 0))
    throw new UsageProblem(`${option} must be a positive number of seconds`);
  return Math.round(s * 1000);
}

/** The upload API's client as the options and environment configure it. */
export function apiClient(
  api: string,
  values: { region?: string | undefined; requestTimeout?: string | undefined },
  env: NodeJS.ProcessEnv,
): UploadApiClient {
  const requestTimeoutMs = secondsOption(
    values.requestTimeout,
    env.MEDIMG_REQUEST_TIMEOUT,
    '--request-timeout',
    DEFAULT_REQUEST_TIMEOUT_MS,
  );
  return new UploadApiClient({
    url: api,
    requestTimeoutMs,
    ...(values.region ? { region: values.region } : {}),
  });
}

/** Throws UsageProblem before any request when the options do not make a valid upload. */
export async function runUpload(request: UploadRequest, io: CliIo = defaultIo): Promise<number> {
  const values = request;
  const positionals = request.inputs;
  const api = values.api ?? io.env.MEDIMG_API_URL;
  if (!api) throw new UsageProblem('no API: give --api URL or set MEDIMG_API_URL');
  if (!/^https?:\/\//.test(api)) throw new UsageProblem('--api must be an http(s) URL');
  if (values.resume === undefined && positionals.length === 0)
    throw new UsageProblem('give files or folders to upload');
  if (values.resume !== undefined && positionals.length > 0)
    throw new UsageProblem('--resume takes no files (they are in its state)');
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageProblem('--concurrency must be an integer from 1 to 64');
  }

  const client = apiClient(api, values, io.env);
  const stallTimeoutMs = secondsOption(
    values.stallTimeout,
    io.env.MEDIMG_STALL_TIMEOUT,
    '--stall-timeout',
    DEFAULT_STALL_TIMEOUT_MS,
  );
  const progress = new ProgressReporter(io.stderr);
  let batchId = values.resume;
  const options: UploadOptions = {
    client,
    stateDir: values.stateDir ?? defaultStateDir(io.env),
    concurrency,
    stallTimeoutMs,
    onBatchCreated: (id) => {
      batchId = id;
      io.stderr.write(`medimg: batch ${id} created (resume with: medimg upload --resume ${id})\n`);
    },
    onProgress: (p) => progress.update(p),
  };

  try {
    let outcome: Awaited<ReturnType<typeof uploadFiles>>;
    if (values.resume !== undefined) {
      io.stderr.write(`medimg: resuming batch ${values.resume}\n`);
      outcome = await resumeUpload(values.resume, options);
    } else {
      const { files, skipped } = await collectFiles(positionals, { dicomOnly: true });
      for (const s of skipped) io.stderr.write(`medimg: skipped (not DICOM): ${s}\n`);
      if (files.length === 0) {
        io.stderr.write('medimg upload: no DICOM file found in the inputs\n');
        return 66;
      }
      io.stderr.write(
        `medimg: ${files.length} DICOM file(s), ${skipped.length} skipped; computing checksums\n`,
      );
      outcome = await uploadFiles(files, options);
    }
    progress.end();
    io.stderr.write(
      `medimg: batch ${outcome.batchId} complete: ${outcome.files} file(s)` +
        (outcome.alreadyUploaded ? `, ${outcome.alreadyUploaded} already uploaded before this run` : '') +
        `, ${outcome.sent} upload request(s) sent; state: ${outcome.status.state}\n`,
    );
    io.stdout.write(`${outcome.batchId}\n`);
    return 0;
  } catch (err) {
    progress.end();
    io.stderr.write(`medimg upload: ${describeApiError(err)}\n`);
    if (batchId !== undefined) io.stderr.write(`medimg: resume with: medimg upload --resume ${batchId}\n`);
    return 1;
  }
}
