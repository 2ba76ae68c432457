/**
 * `medimg upload <file-or-folder>... [--api URL]`: finds the DICOM files among the inputs (by
 * content), uploads them as one batch through the upload API's presigned URLs, completes the batch
 * and prints its id on stdout. Progress and messages go to stderr.
 */
import { parseArgs } from 'node:util';
import { ApiCallError, UploadApiClient } from '../client/api-client.ts';
import { collectFiles } from '../client/files.ts';
import { ProgressReporter } from '../client/progress.ts';
import { defaultStateDir } from '../client/state.ts';
import { resumeUpload, UploadError, type UploadOptions, uploadFiles } from '../client/uploader.ts';

export const UPLOAD_USAGE = `Usage: medimg upload <file-or-folder>... [--api URL] [--concurrency N] [--state-dir DIR]
       medimg upload --resume <batchId> [--api URL] [--state-dir DIR]

Uploads DICOM files as one batch through the upload API (presigned S3 URLs) and prints the batch id.
Files are recognised by content (the DICM preamble or a DICOM data set); others are listed and skipped.
An interrupted upload resumes with --resume <batchId>: files S3 already has are not sent again.

  --api URL          the upload API (stack output UploadApiUrl); default: $MEDIMG_API_URL
  --concurrency N    uploads in flight at once (default 4)
  --state-dir DIR    where resume state is kept (default: ~/.local/state/medimg/uploads)
  --region REGION    signing region (default: from the API URL, else $AWS_REGION)

Requests are signed with AWS credentials from the SDK's default chain (environment, profile, SSO).
Exit codes: 0 uploaded, 1 the upload failed (resume it), 64 usage error, 66 no DICOM file found.`;

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
  if (err instanceof UploadError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : 'failed';
}

export async function runUpload(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        resume: { type: 'string' },
        concurrency: { type: 'string' },
        'state-dir': { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  try {
    parsed = parse();
  } catch (err) {
    io.stderr.write(
      `medimg upload: ${err instanceof Error ? err.message : 'bad arguments'}\n\n${UPLOAD_USAGE}\n`,
    );
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${UPLOAD_USAGE}\n`);
    return 0;
  }
  const usage = (message: string) => {
    io.stderr.write(`medimg upload: ${message}\n\n${UPLOAD_USAGE}\n`);
    return 64;
  };
  const api = values.api ?? io.env.MEDIMG_API_URL;
  if (!api) return usage('no API: give --api URL or set MEDIMG_API_URL');
  if (!/^https?:\/\//.test(api)) return usage('--api must be an http(s) URL');
  if (values.resume === undefined && positionals.length === 0)
    return usage('give files or folders to upload');
  if (values.resume !== undefined && positionals.length > 0)
    return usage('--resume takes no files (they are in its state)');
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    return usage('--concurrency must be an integer from 1 to 64');
  }

  const client = new UploadApiClient({ url: api, ...(values.region ? { region: values.region } : {}) });
  const progress = new ProgressReporter(io.stderr);
  let batchId = values.resume;
  const options: UploadOptions = {
    client,
    stateDir: values['state-dir'] ?? defaultStateDir(io.env),
    concurrency,
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
