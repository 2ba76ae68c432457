/** Test support for the AWS adapters: a local S3 server (s3rver) and a prefix listing. Never in production images. */
export { type LocalS3, listObjects, startLocalS3 } from './local-s3.ts';
export { type RunningS3rver, type S3rverOptions, startS3rver } from './s3rver-server.ts';
