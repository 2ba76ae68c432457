import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, INLINE_POLICY_REASON } from '../nag.ts';
import { secureBucket } from './secure-bucket.ts';

export interface AuditTrailProps {
  /** Buckets whose object-level reads and writes are recorded (raw and linkage). */
  readonly dataBuckets: readonly s3.IBucket[];
  /** Where the trail bucket's own server access logs go (the access-log bucket). */
  readonly accessLogBucket: s3.IBucket;
  /** Default Object Lock retention of the trail records, in days (governance mode). */
  readonly retentionDays: number;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
  /** Administrator role allowed to read the trail bucket (none: nobody, until the policy changes). */
  readonly adminRoleArn?: string;
}

/**
 * Who read or wrote PHI, and when: CloudTrail data events (every GetObject, PutObject, DeleteObject)
 * on the raw and linkage buckets, into a bucket of its own with S3 Object Lock (governance mode,
 * default retention from context). It is not the bucket that receives S3 server access logs: S3
 * log delivery refuses a target bucket with a default retention period.
 */
export class AuditTrail extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly trail: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'TrailKey', {
      description: 'medimg pipeline: CloudTrail data-event records of the PHI buckets',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = secureBucket(this, 'TrailBucket', {
      encryptionKey: this.key,
      accessLogs: { bucket: props.accessLogBucket, prefix: 'trail' },
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(props.retentionDays)),
      lifecycleRules: [
        // Deletes (as delete markers) only once the lock has lapsed; locked versions cannot go sooner.
        {
          id: 'expire-after-retention',
          expiration: Duration.days(props.retentionDays + 1),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
    });
    // Nobody but the administrator role (if any) reads the records; CloudTrail writes as a service.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyObjectAccessOutsideNamedRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [
          's3:GetObject*',
          's3:DeleteObject*',
          's3:PutObject*',
          's3:ListBucket',
          's3:ListBucketVersions',
        ],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        conditions: {
          Bool: { 'aws:PrincipalIsAWSService': 'false' },
          ...(props.adminRoleArn ? { ArnNotLike: { 'aws:PrincipalArn': [props.adminRoleArn] } } : {}),
        },
      }),
    );

    const logGroup = new logs.LogGroup(this, 'TrailLogGroup', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.bucket,
      s3KeyPrefix: 'data-events',
      encryptionKey: this.key,
      enableFileValidation: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: logGroup,
      // Management events are in the account's own trail or event history; this one is about PHI.
      managementEvents: cloudtrail.ReadWriteType.NONE,
      includeGlobalServiceEvents: false,
      isMultiRegionTrail: false,
    });
    this.trail.addS3EventSelector(
      props.dataBuckets.map((bucket) => ({ bucket })),
      { readWriteType: cloudtrail.ReadWriteType.ALL, includeManagementEvents: false },
    );
    // CloudTrail encrypts the records with the trail key (for this trail only).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptsThisTrail',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          StringLike: {
            'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${this.bucket.stack.partition}:cloudtrail:*:${this.bucket.stack.account}:trail/*`,
          },
        },
      }),
    );
    if (props.adminRoleArn) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AdministratorRoleReadsTheRecords',
          principals: [new iam.ArnPrincipal(props.adminRoleArn)],
          actions: ['kms:Decrypt', 'kms:DescribeKey'],
          resources: ['*'],
        }),
      );
    }
    acknowledge(
      this.bucket,
      'HIPAA.Security-S3BucketReplicationEnabled',
      'Cross-region replication is a disaster-recovery and data-residency decision each hospital makes; the records are protected by Object Lock, versioning and retention on stack deletion.',
    );
    const logsRole = this.trail.node.tryFindChild('LogsRole');
    if (logsRole) acknowledge(logsRole, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
  }
}
