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
import { parseArgs } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { S3_CLIENT_DEFAULTS, S3ObjectStore } from '@medimg/aws';
import { linkageKeys, type ObjectStore, studyOfLinkageKey } from '@medimg/common';
import { FsObjectStore } from '../adapters/fs-object-store.ts';

export const REIDENTIFY_USAGE = `Usage: medimg reidentify <pseudonymous study UID> --reason <text> (--linkage-dir <dir> | --bucket <linkage bucket>)

Prints the original identifiers (patient ID, study UID, accession number) of a pseudonymous study.
Every request is recorded first, with who asked and why, under audit/reidentify/ in the linkage store.
  --reason <text>        why (a ticket, a tumour board, a clinician's request); required
  --linkage-dir <dir>    a local linkage store: the restricted folder of medimg process
                         (--restricted, default <out>-RESTRICTED-PHI), which holds linkage/
  --bucket <name>        the linkage bucket; run with the re-identification role's credentials
                         (e.g. AWS_PROFILE naming a profile with its role_arn and mfa_serial)`;

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
  const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return out.Arn ?? 'unknown';
}

export async function runReidentify(argv: readonly string[], io: ReidentifyIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(
      `medimg reidentify: ${error instanceof Error ? error.message : 'invalid arguments'}\n${REIDENTIFY_USAGE}\n`,
    );
    return 64;
  }
  if (parsed.help) {
    io.stdout(`${REIDENTIFY_USAGE}\n`);
    return 0;
  }
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

type Parsed =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly study: string;
      readonly reason: string;
      readonly mode: 'local' | 's3';
      readonly store: LinkageStore;
      readonly bucket: string;
    };

function parse(argv: readonly string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      reason: { type: 'string' },
      'linkage-dir': { type: 'string' },
      bucket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const [study, ...extra] = positionals;
  if (!study || extra.length > 0) throw new Error('give exactly one pseudonymous study UID');
  if (!STUDY_UID.test(study) || study.length > 64)
    throw new Error('the study UID must be a DICOM UID (digits and dots)');
  const reason = values.reason?.trim();
  if (!reason) throw new Error('--reason is required: say why the identity is needed');
  const dir = values['linkage-dir'];
  const bucketName = values.bucket;
  if ((dir === undefined) === (bucketName === undefined))
    throw new Error('give either --linkage-dir or --bucket');
  if (dir !== undefined) {
    const abs = path.resolve(dir);
    return {
      help: false,
      study,
      reason,
      mode: 'local',
      store: new FsObjectStore(path.dirname(abs)),
      bucket: path.basename(abs),
    };
  }
  return {
    help: false,
    study,
    reason,
    mode: 's3',
    store: s3LinkageStore(),
    bucket: bucketName as string,
  };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'INTERNAL_ERROR';
}
