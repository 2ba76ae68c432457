/**
 * @medimg/aws: the AWS SDK v3 adapters that several deployables share (the worker, the trigger
 * Lambda, the upload API), and one reading of SDK errors. The ports they implement live in
 * @medimg/common, which stays free of the SDK.
 */
export {
  type AwsClientConfig,
  type AwsHttpHandlerOptions,
  awsClientConfig,
  HTTP_TIMEOUTS,
  type HttpTimeouts,
  httpHandlerOptions,
} from './client-config.ts';
export { type AwsErrorClass, type AwsErrorKind, classifyAwsError, httpStatusOf } from './errors.ts';
export {
  S3_CLIENT_DEFAULTS,
  S3ObjectStore,
  type S3ObjectStoreOptions,
  toObjectStoreError,
} from './s3-object-store.ts';
