import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface SecureBucketProps {
  /** Customer-managed key (SSE-KMS with an S3 bucket key). Omit only for the access-log bucket. */
  readonly encryptionKey?: kms.IKey;
  /** Server access logs go here under `s3-access/<logPrefix>/`. */
  readonly accessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly lifecycleRules?: s3.LifecycleRule[];
  readonly cors?: s3.CorsRule[];
  /** S3 Object Lock with this default retention (the bucket is created with Object Lock enabled). */
  readonly objectLockDefaultRetention?: s3.ObjectLockRetention;
}

/**
 * The one way this project makes a bucket: encrypted (KMS, or SSE-S3 for the log bucket, which S3
 * server access logging requires), TLS 1.2+ only, every form of public access blocked, ACLs
 * disabled, versioned, retained when the stack is deleted.
 */
export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: props.encryptionKey,
    bucketKeyEnabled: props.encryptionKey ? true : undefined,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    serverAccessLogsBucket: props.accessLogs?.bucket,
    serverAccessLogsPrefix: props.accessLogs ? `s3-access/${props.accessLogs.prefix}/` : undefined,
    lifecycleRules: [
      { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ...(props.lifecycleRules ?? []),
    ],
    cors: props.cors,
    objectLockEnabled: props.objectLockDefaultRetention ? true : undefined,
    objectLockDefaultRetention: props.objectLockDefaultRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
