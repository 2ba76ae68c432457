/**
 * `medimg upload` and `medimg status`: the upload API's client (@medimg/upload-api/cli). Their
 * checks, requests and exit codes live there; these modules give them their place, options and
 * help among the CLI's commands, and hand it the parsed options.
 */
// The client (and the AWS SDK under it) is loaded when one of these commands runs: `medimg
// process` never pays for loading it (decision 018, start-up).
import { type CliIo, defineCommand, UsageError } from '../command.ts';

const API_OPTIONS = {
  api: {
    type: 'string',
    value: '<url>',
    description: 'the upload API (stack output UploadApiUrl; default $MEDIMG_API_URL)',
  },
  region: {
    type: 'string',
    value: '<region>',
    description: 'signing region (default: from the API URL, else $AWS_REGION)',
  },
  'request-timeout': {
    type: 'string',
    value: '<seconds>',
    description: 'bound on each API call, retried when reached (default 60; $MEDIMG_REQUEST_TIMEOUT)',
  },
} as const;

/** The client's usage problems are the CLI's usage errors (one line, a pointer to --help, exit 64). */
async function asUsageErrors(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const { UsageProblem } = await import('@medimg/upload-api/cli/upload.ts');
    if (error instanceof UsageProblem) throw new UsageError(error.message);
    throw error;
  }
}

const clientIo = (io: CliIo) => ({
  stdout: { write: (text: string) => io.stdout(text) },
  stderr: { write: (text: string) => io.stderr(text), isTTY: process.stderr.isTTY },
  env: { ...io.env },
});

export const uploadCommand = defineCommand({
  name: 'upload',
  summary: 'Upload DICOM files as one batch through the upload API (presigned S3 URLs); prints the batch id.',
  positionals: { usage: '<file-or-folder>...', min: 0 },
  details: `Files are recognised by content (the DICM preamble or a DICOM data set); others are listed
and skipped. An interrupted upload resumes with --resume <batchId>: files S3 already has are not
sent again. Requests are signed with AWS credentials from the SDK's default chain.
Exit codes: 0 uploaded, 1 the upload failed (resume it), 64 usage error, 66 no DICOM file found.`,
  options: {
    ...API_OPTIONS,
    resume: { type: 'string', value: '<batchId>', description: 'resume an interrupted upload' },
    concurrency: { type: 'string', value: '<n>', description: 'uploads in flight at once (default 4)' },
    'stall-timeout': {
      type: 'string',
      value: '<seconds>',
      description:
        'retry an upload with no byte sent or received this long (default 30; $MEDIMG_STALL_TIMEOUT)',
    },
    'state-dir': {
      type: 'string',
      value: '<dir>',
      description: 'where resume state is kept (default ~/.local/state/medimg/uploads)',
    },
  },
  run: ({ options, positionals }, io) =>
    asUsageErrors(async () =>
      (await import('@medimg/upload-api/cli/upload.ts')).runUpload(
        {
          inputs: positionals,
          api: options.api,
          region: options.region,
          requestTimeout: options['request-timeout'],
          stallTimeout: options['stall-timeout'],
          resume: options.resume,
          concurrency: options.concurrency,
          stateDir: options['state-dir'],
        },
        clientIo(io),
      ),
    ),
});

export const statusCommand = defineCommand({
  name: 'status',
  summary: "Show an upload batch's state, counts, critical findings and study report links.",
  positionals: { usage: '<batchId>', min: 1, max: 1 },
  details: `Exit codes: 0 completed (or, without --wait, not failed), 1 the job failed, 64 usage error,
69 the API could not answer (unknown batch, credentials, network), 75 --timeout reached.`,
  options: {
    ...API_OPTIONS,
    wait: { type: 'boolean', description: 'ask again until the job has completed or failed' },
    interval: {
      type: 'string',
      value: '<seconds>',
      description: 'between two questions with --wait (default 5)',
    },
    timeout: { type: 'string', value: '<seconds>', description: 'give up waiting after this long' },
    json: { type: 'boolean', description: "print the API's answer as JSON" },
  },
  run: ({ options, positionals }, io) =>
    asUsageErrors(async () =>
      (await import('@medimg/upload-api/cli/status.ts')).runStatus(
        {
          batchId: positionals[0] ?? '',
          api: options.api,
          region: options.region,
          requestTimeout: options['request-timeout'],
          wait: options.wait,
          interval: options.interval,
          timeout: options.timeout,
          json: options.json,
        },
        clientIo(io),
      ),
    ),
});
