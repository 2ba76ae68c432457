/** Issues short-lived read links to de-identified objects (S3 presigned GET). */
export interface LinkSigner {
  signGet(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
}
