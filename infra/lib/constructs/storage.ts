import { TRIGGER_ENV, WORKER_ENV } from '@medimg/common';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
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

export interface StorageProps {
  readonly settings: StorageSettings;
}

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

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const s = props.settings;

    this.rawKey = dataKey(this, 'RawKey', 'raw uploads (may contain PHI) and job specs');
    this.processedKey = dataKey(this, 'ProcessedKey', 'de-identified outputs');
    this.linkageKey = dataKey(this, 'LinkageKey', 'pseudonym-to-identity linkage records');

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
   * The worker task: reads its inputs and job spec from raw, quarantines originals there, writes
   * and re-reads (idempotency) processed outputs, reads and writes linkage records. Sets
   * PROCESSED_BUCKET and LINKAGE_BUCKET.
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

    grantList(role, this.linkageBucket, [LINKAGE_PREFIX]);
    grantObjects(role, this.linkageBucket, ['s3:GetObject', 's3:PutObject'], [LINKAGE_PREFIX]);
    grantKey(role, this.linkageKey, ['kms:Decrypt', 'kms:GenerateDataKey']);
  }
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
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: prefixes ? { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } } : undefined,
    }),
  );
}

/** Key use only through S3 in this region (kms:ViaService), never directly. */
function grantKey(grantee: iam.IGrantable, key: kms.IKey, actions: string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions,
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
    }),
  );
}
