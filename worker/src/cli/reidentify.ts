/**
 * `medimg reidentify <pseudonymous study UID> --reason <text> (--linkage-dir <dir> | --bucket <name>)`:
 * the break-glass way back from a pseudonymous study to the patient (docs/runbook.md). It writes an
 * audit record of who asked and why BEFORE it reads anything, then prints the original identifiers
 * of the study from the linkage store: a local folder (the restricted folder of `medimg process`,
 * which holds linkage/), or the linkage bucket with the re-identification role's credentials.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { awsClientConfig, S3_CLIENT_DEFAULTS, S3ObjectStore } from '@medimg/aws';
import { linkageKeys, type ObjectStore, studyOfLinkageKey } from '@medimg/common';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { UsageError } from './command.ts';

/** The command's parsed options (commands/reidentify.ts declares them, with their help). */
export interface ReidentifyRequest {
  readonly study: string;
  readonly reason: string;
  readonly linkageDir?: string | undefined;
  readonly bucket?: string | undefined;
}

export interface ReidentifyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Who asked: the OS user locally, the caller's ARN on AWS (STS). */
  readonly whoAmI?: (mode: 'local' | 's3') => Promise<string>;
  readonly clock?: () => Date;
}

const STUDY_UID = /^[0-9]+(\.[0-9]+)+$/;

/** The object store plus listing (the linkage records are found by their study under linkage/). */
type LinkageStore = ObjectStore & {
  list(bucket: string, prefix: string): Promise<readonly { readonly key: string }[]>;
};

/** The linkage bucket through S3: the shared adapter, and ListObjectsV2 on the same client. */
function s3LinkageStore(): LinkageStore {
  const client = new S3Client(S3_CLIENT_DEFAULTS);
  const store = new S3ObjectStore({ client });
  return {
    get: (bucket, key) => store.get(bucket, key),
    getIfExists: (bucket, key) => store.getIfExists(bucket, key),
    put: (bucket, key, body, options) => store.put(bucket, key, body, options),
    head: (bucket, key) => store.head(bucket, key),
    async list(bucket: string, prefix: string) {
      const keys: { key: string }[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) keys.push({ key: o.Key });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
  };
}

export interface ReidentificationAudit {
  readonly version: 1;
  readonly requestId: string;
  readonly requestedAt: string;
  readonly requestedBy: string;
  readonly reason: string;
  readonly study: string;
  readonly store: 'local' | 's3';
}

async function defaultWhoAmI(mode: 'local' | 's3'): Promise<string> {
  if (mode === 'local') return `local:${os.userInfo().username}@${os.hostname()}`;
  const out = await new STSClient(awsClientConfig()).send(new GetCallerIdentityCommand({}));
  return out.Arn ?? 'unknown';
}

/** Throws UsageError (exit 64, nothing read or written) when the request cannot be served. */
export async function runReidentify(request: ReidentifyRequest, io: ReidentifyIo): Promise<number> {
  const parsed = checkRequest(request);
  const { study, reason, store, bucket, mode } = parsed;
  const clock = io.clock ?? (() => new Date());
  const now = clock();
  const requestId = `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}`;
  let requestedBy: string;
  try {
    requestedBy = await (io.whoAmI ?? defaultWhoAmI)(mode);
  } catch {
    io.stderr('medimg reidentify: cannot tell who is asking (no valid credentials); nothing was read\n');
    return 77;
  }
  const audit: ReidentificationAudit = {
    version: 1,
    requestId,
    requestedAt: now.toISOString(),
    requestedBy,
    reason,
    study,
    store: mode,
  };
  try {
    await store.put(bucket, linkageKeys.reidentificationAudit(requestId), JSON.stringify(audit, null, 2), {
      contentType: 'application/json',
      ifNoneMatch: true,
    });
  } catch (error) {
    io.stderr(
      `medimg reidentify: the audit record could not be written (${codeOf(error)}); nothing was read\n`,
    );
    return codeOf(error) === 'ACCESS_DENIED' ? 77 : 1;
  }
  let records: unknown[];
  try {
    const keys = (await store.list(bucket, linkageKeys.prefix)).filter(
      (o) => studyOfLinkageKey(o.key) === study,
    );
    records = await Promise.all(
      keys.map(
        async (o) => JSON.parse(Buffer.from(await store.get(bucket, o.key)).toString('utf8')) as unknown,
      ),
    );
  } catch (error) {
    io.stderr(
      `medimg reidentify: the linkage store could not be read (${codeOf(error)}); request ${requestId} is recorded\n`,
    );
    return codeOf(error) === 'ACCESS_DENIED' ? 77 : 1;
  }
  if (records.length === 0) {
    io.stderr(`medimg reidentify: no linkage record for study ${study}; request ${requestId} is recorded\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify({ requestId, study, records }, null, 2)}\n`);
  io.stderr(`medimg reidentify: request ${requestId} recorded for ${requestedBy}\n`);
  return 0;
}

interface Checked {
  readonly study: string;
  readonly reason: string;
  readonly mode: 'local' | 's3';
  readonly store: LinkageStore;
  readonly bucket: string;
}

function checkRequest(request: ReidentifyRequest): Checked {
  const { study, linkageDir, bucket } = request;
  if (!STUDY_UID.test(study) || study.length > 64)
    throw new UsageError('the study UID must be a DICOM UID (digits and dots)');
  const reason = request.reason.trim();
  if (!reason) throw new UsageError('--reason is required: say why the identity is needed');
  if ((linkageDir === undefined) === (bucket === undefined))
    throw new UsageError('give either --linkage-dir or --bucket');
  if (linkageDir !== undefined) {
    const abs = path.resolve(linkageDir);
    return {
      study,
      reason,
      mode: 'local',
      store: new FsObjectStore(path.dirname(abs)),
      bucket: path.basename(abs),
    };
  }
  return { study, reason, mode: 's3', store: s3LinkageStore(), bucket: bucket as string };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'INTERNAL_ERROR';
}
