import { DISPATCHER_ENV, TRIGGER_ENV, WORKER_ENV } from '@medimg/common';
import { Aws, Duration, Lazy, RemovalPolicy } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import type { StorageSettings } from '../config.ts';
import { acknowledge, objectWildcardFinding } from '../nag.ts';
import { secureBucket } from './secure-bucket.ts';

/** Key prefixes (DESIGN D7; common/src/keys.ts is the source of truth for the full keys). */
export const RAW_PREFIX = { incoming: 'incoming/', jobs: 'jobs/', quarantine: 'quarantine/' } as const;
export const LINKAGE_PREFIX = 'linkage/';
/** Re-identification audit records (`medimg reidentify`), in the linkage bucket beside what they guard. */
export const REIDENTIFICATION_AUDIT_PREFIX = 'audit/reidentify/';

export interface StorageProps {
  readonly settings: StorageSettings;
  /** Administrator role allowed into the PHI buckets and their keys (break-glass); none by default. */
  readonly adminRoleArn?: string;
}

/**
 * Object-level actions the PHI bucket policies deny to every principal not on the bucket's list.
 * Bucket configuration (policy, lifecycle, notifications) stays with the account, so that
 * CloudFormation can still manage the bucket and an administrator can still change the policy.
 */
export const DATA_ACTIONS = [
  's3:GetObject*',
  's3:PutObject*',
  's3:DeleteObject*',
  's3:RestoreObject',
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListMultipartUploadParts',
  's3:AbortMultipartUpload',
  's3:ReplicateObject',
] as const;

/** Key administration without any cryptographic use: what the account keeps on the PHI keys. */
export const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
] as const;

/**
 * The four buckets and their keys. Raw holds what was uploaded (may carry PHI) and is short-lived;
 * processed holds only de-identified data and ages into cheaper storage; linkage maps pseudonyms
 * back to identities, under its own key; audit receives the server access logs of the other three
 * and the VPC flow logs.
 */
export class Storage extends Construct {
  readonly rawKey: kms.Key;
  readonly processedKey: kms.Key;
  readonly linkageKey: kms.Key;
  readonly auditBucket: s3.Bucket;
  readonly rawBucket: s3.Bucket;
  readonly processedBucket: s3.Bucket;
  readonly linkageBucket: s3.Bucket;
  private readonly adminRoleArn?: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const s = props.settings;
    this.adminRoleArn = props.adminRoleArn;

    this.rawKey = phiKey(this, 'RawKey', 'raw uploads (may contain PHI) and job specs', props.adminRoleArn);
    this.processedKey = dataKey(this, 'ProcessedKey', 'de-identified outputs');
    this.linkageKey = phiKey(this, 'LinkageKey', 'pseudonym-to-identity linkage records', props.adminRoleArn);

    this.auditBucket = secureBucket(this, 'AuditBucket', {
      lifecycleRules: [
        {
          id: 'archive-then-expire-logs',
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
          expiration: Duration.days(s.auditLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(s.noncurrentVersionExpirationDays),
        },
      ],
    });

    this.rawBucket = secureBucket(this, 'RawBucket', {
      encryptionKey: this.rawKey,
      accessLogs: { bucket: this.auditBucket, prefix: 'raw' },
      lifecycleRules: [
        {
          id: 'expire-raw-uploads',
          prefix: RAW_PREFIX.incoming,
          expiration: Duration.days(s.rawUploadExpirationDays),
        },
        {
          id: 'expire-job-specs',
          prefix: RAW_PREFIX.jobs,
          expiration: Duration.days(s.rawJobsExpirationDays),
        },
        {
          id: 'expire-quarantine',
          prefix: RAW_PREFIX.quarantine,
          expiration: Duration.days(s.rawJobsExpirationDays),
        },
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(s.noncurrentVersionExpirationDays),
          expiredObjectDeleteMarker: true,
        },
      ],
      cors:
        s.uploadCorsOrigins.length > 0
          ? [
              {
                allowedMethods: [s3.HttpMethods.PUT],
                allowedOrigins: [...s.uploadCorsOrigins],
                allowedHeaders: ['content-type', 'content-length', 'content-md5', 'x-amz-*'],
                exposedHeaders: ['ETag'],
                maxAge: 3000,
              },
            ]
          : undefined,
    });

    this.processedBucket = secureBucket(this, 'ProcessedBucket', {
      encryptionKey: this.processedKey,
      accessLogs: { bucket: this.auditBucket, prefix: 'processed' },
      lifecycleRules: [
        {
          id: 'tier-processed-data',
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(s.processedInfrequentAccessAfterDays),
            },
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(s.processedGlacierAfterDays),
            },
          ],
          noncurrentVersionExpiration: Duration.days(s.noncurrentVersionExpirationDays),
        },
      ],
    });

    this.linkageBucket = secureBucket(this, 'LinkageBucket', {
      encryptionKey: this.linkageKey,
      accessLogs: { bucket: this.auditBucket, prefix: 'linkage' },
      lifecycleRules: [
        // Linkage records are kept; only superseded versions go, after the same grace period.
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(s.noncurrentVersionExpirationDays),
        },
      ],
    });

    // Raw and linkage hold PHI; the audit bucket records who touched them (full keys, presigned
    // URLs): all three admit only the roles named on their list.
    this.lockDown(this.rawBucket, true);
    this.lockDown(this.linkageBucket, true);
    this.lockDown(this.auditBucket, false);

    for (const bucket of [this.auditBucket, this.rawBucket, this.processedBucket, this.linkageBucket]) {
      acknowledge(
        bucket,
        'HIPAA.Security-S3BucketReplicationEnabled',
        'Cross-region replication is a disaster-recovery and data-residency decision each hospital makes (a second region may not be allowed for PHI). Durability here comes from S3 (11 nines), versioning, and retention on stack deletion; replication can be added per deployment without code changes elsewhere.',
      );
    }
    acknowledge(
      this.auditBucket,
      'HIPAA.Security-S3DefaultEncryptionKMS',
      'The audit bucket is the target of S3 server access logs, which S3 can deliver only to buckets encrypted with SSE-S3 (AES-256), not SSE-KMS. It holds access logs and VPC flow logs, no PHI.',
    );
  }

  /**
   * The trigger Lambda: reads upload manifests and lists a batch prefix under `incoming/`, reads and
   * writes job specs under `jobs/`. Sets RAW_BUCKET.
   */
  bindTrigger(fn: lambda.Function): void {
    fn.addEnvironment(TRIGGER_ENV.RAW_BUCKET, this.rawBucket.bucketName);
    grantList(fn, this.rawBucket, [RAW_PREFIX.incoming, RAW_PREFIX.jobs]);
    grantObjects(fn, this.rawBucket, ['s3:GetObject'], [RAW_PREFIX.incoming, RAW_PREFIX.jobs]);
    grantObjects(fn, this.rawBucket, ['s3:PutObject'], [RAW_PREFIX.jobs]);
    grantKey(fn, this.rawKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /**
   * The job dispatcher: reads and writes the attempt ledgers and dead-letter records under `jobs/`
   * of the raw bucket (no upload, no quarantined original). Sets RAW_BUCKET.
   */
  bindDispatcher(fn: lambda.Function): void {
    fn.addEnvironment(DISPATCHER_ENV.RAW_BUCKET, this.rawBucket.bucketName);
    grantList(fn, this.rawBucket, [RAW_PREFIX.jobs]);
    grantObjects(fn, this.rawBucket, ['s3:GetObject', 's3:PutObject'], [RAW_PREFIX.jobs]);
    grantKey(fn, this.rawKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /**
   * The re-identification role (`medimg reidentify`): reads linkage records and writes an audit
   * record of each request; nothing else. Nobody holds it by default (phi-access.ts).
   */
  bindReidentifier(role: iam.IRole): void {
    grantList(role, this.linkageBucket, [LINKAGE_PREFIX]);
    grantObjects(role, this.linkageBucket, ['s3:GetObject'], [LINKAGE_PREFIX]);
    grantObjects(role, this.linkageBucket, ['s3:PutObject'], [REIDENTIFICATION_AUDIT_PREFIX]);
    grantKey(role, this.linkageKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /**
   * The worker task: reads its inputs and job spec from raw, quarantines originals there, writes
   * and re-reads (idempotency) processed outputs, and only writes linkage records: it can neither
   * read nor list the linkage store. Sets PROCESSED_BUCKET and LINKAGE_BUCKET.
   */
  bindWorker(container: ecs.ContainerDefinition): void {
    const role = container.taskDefinition.taskRole;
    container.addEnvironment(WORKER_ENV.PROCESSED_BUCKET, this.processedBucket.bucketName);
    container.addEnvironment(WORKER_ENV.LINKAGE_BUCKET, this.linkageBucket.bucketName);

    grantObjects(role, this.rawBucket, ['s3:GetObject'], [RAW_PREFIX.incoming, RAW_PREFIX.jobs]);
    grantObjects(role, this.rawBucket, ['s3:PutObject'], [RAW_PREFIX.quarantine]);
    grantKey(role, this.rawKey, ['kms:Decrypt', 'kms:GenerateDataKey']);

    grantList(role, this.processedBucket, undefined);
    grantObjects(role, this.processedBucket, ['s3:GetObject', 's3:PutObject'], ['']);
    grantKey(role, this.processedKey, ['kms:Decrypt', 'kms:GenerateDataKey']);

    // Write-only: a single PUT of a small JSON record needs no read, no list and no kms:Decrypt.
    grantObjects(role, this.linkageBucket, ['s3:PutObject'], [LINKAGE_PREFIX]);
    grantKey(role, this.linkageKey, ['kms:GenerateDataKey']);
  }

  /** Role ARNs on a locked-down bucket's list (tests, docs). */
  allowedPrincipals(bucket: s3.IBucket): readonly string[] {
    return [...(ALLOWED.get(bucket) ?? [])];
  }

  /**
   * Denies every object action to any principal that is not on the bucket's list: the roles the
   * bind methods granted, and the administrator role. AWS services acting for themselves (log
   * delivery, CloudTrail) are not IAM principals of the account and are left to the Allow
   * statements that admit them.
   */
  private lockDown(bucket: s3.Bucket, grantsFollow: boolean): void {
    const list = new Set<string>(this.adminRoleArn ? [this.adminRoleArn] : []);
    ALLOWED.set(bucket, list);
    // With nobody on the list (the audit bucket without an administrator role), every IAM principal
    // is denied: reading the logs then starts with a bucket-policy change, itself logged.
    const named = grantsFollow || list.size > 0;
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyObjectAccessOutsideNamedRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...DATA_ACTIONS],
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
        conditions: {
          Bool: { 'aws:PrincipalIsAWSService': 'false' },
          ...(named ? { ArnNotLike: { 'aws:PrincipalArn': Lazy.list({ produce: () => [...list] }) } } : {}),
        },
      }),
    );
  }
}

/**
 * Role ARNs allowed to touch each locked-down bucket's objects, and the keys whose policies name
 * their users. The grant functions below fill them, so that any bind method (today's and the ones
 * to come) that grants through them is admitted by the bucket and key policies too.
 */
const ALLOWED = new WeakMap<s3.IBucket, Set<string>>();
const PHI_KEYS = new WeakMap<kms.IKey, { statements: number }>();

/** The ARN of the role behind a grantee (every grantee here is a role of this stack). */
function roleArnOf(grantee: iam.IGrantable): string {
  const principal = grantee.grantPrincipal as Partial<iam.IRole>;
  if (typeof principal.roleArn !== 'string') throw new Error('grantee must be a role');
  return principal.roleArn;
}

/**
 * A key for PHI: the account keeps administration (so the key is never unmanageable) but not
 * cryptographic use; only the roles named by the bind methods (and the administrator role) may
 * encrypt or decrypt, through S3 only. IAM policies alone can no longer open it.
 */
function phiKey(scope: Construct, id: string, purpose: string, adminRoleArn: string | undefined): kms.Key {
  const policy = new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountAdministersTheKeyWithoutUsingIt',
        principals: [new iam.AccountRootPrincipal()],
        actions: [...KEY_ADMIN_ACTIONS],
        resources: ['*'],
      }),
      ...(adminRoleArn
        ? [
            new iam.PolicyStatement({
              sid: 'AdministratorRoleUsesTheKeyThroughS3',
              principals: [new iam.ArnPrincipal(adminRoleArn)],
              actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
              resources: ['*'],
              conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
            }),
          ]
        : []),
    ],
  });
  const key = new kms.Key(scope, id, {
    description: `medimg pipeline: ${purpose}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
    policy,
  });
  PHI_KEYS.set(key, { statements: 0 });
  return key;
}

function dataKey(scope: Construct, id: string, purpose: string): kms.Key {
  return new kms.Key(scope, id, {
    description: `medimg pipeline: ${purpose}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

/**
 * Object actions on `<bucket>/<prefix>*`. The wildcard stands for object names, which the pipeline
 * derives at run time (batch ids, job ids, pseudonymous UIDs); the bucket and the prefix are fixed.
 */
function grantObjects(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  actions: string[],
  prefixes: readonly string[],
): void {
  ALLOWED.get(bucket)?.add(roleArnOf(grantee));
  iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: prefixes.map((p) => bucket.arnForObjects(`${p}*`)),
  }).assertSuccess();
  for (const prefix of prefixes) {
    acknowledge(
      principalConstruct(grantee),
      objectWildcardFinding(bucket, prefix),
      `Object names under "${prefix || '(whole bucket)'}" are generated at run time (batch ids, job ids, pseudonymous UIDs); the actions (${actions.join(', ')}) and the bucket are fixed and the prefix is the narrowest the key layout allows.`,
    );
  }
}

/** The role behind a grantee, where its acknowledgements go. */
function principalConstruct(grantee: iam.IGrantable): IConstruct {
  const principal: unknown = grantee.grantPrincipal;
  if (!Construct.isConstruct(principal)) throw new Error('grantee must be a role created in this app');
  return principal;
}

/** ListBucket so that a missing key reads as 404, not 403; limited to the given prefixes. */
function grantList(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  prefixes: readonly string[] | undefined,
): void {
  ALLOWED.get(bucket)?.add(roleArnOf(grantee));
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: prefixes ? { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } } : undefined,
    }),
  );
}

/**
 * Key use only through S3 in this region (kms:ViaService), never directly. For a PHI key the key
 * policy names the role too: IAM alone does not open it.
 */
function grantKey(grantee: iam.IGrantable, key: kms.IKey, actions: string[]): void {
  const via = { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } };
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions, resources: [key.keyArn], conditions: via }),
  );
  const phi = PHI_KEYS.get(key);
  if (phi) {
    phi.statements += 1;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `UseThroughS3By${principalConstruct(grantee).node.id.replace(/[^A-Za-z0-9]/g, '')}${phi.statements}`,
        principals: [new iam.ArnPrincipal(roleArnOf(grantee))],
        actions,
        resources: ['*'],
        conditions: via,
      }),
    );
  }
}
