/**
 * Uploads a folder of scans as one batch through presigned PUT URLs (DESIGN D1): every file to
 * incoming/<batchId>/<relative path>, then the batch manifest last. In AWS the upload API issues
 * the URLs and writes the manifest after checking sizes and checksums; here the same presigner
 * runs in-process and the uploader checks each PUT's answer before it writes the manifest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { rawKeys, type UploadManifest } from '@medimg/common';

/** A managed batch id (MANAGED_BATCH_ID_PATTERN in common/src/keys.ts), as the upload API issues. */
export const newBatchId = (): string =>
  `b-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('hex')}`;

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.md')) out.push(full);
    }
  };
  if ((await stat(root)).isDirectory()) await walk(root);
  else out.push(root);
  return out;
}

/**
 * The scans to upload from a folder: its `studies/`, `bad/` and `burned-in/` subfolders when it has them (the
 * layout of sample-dicom/, whose other files are code), otherwise every file in it.
 */
export async function sampleFiles(sampleRoot: string): Promise<string[]> {
  const parts = ['studies', 'bad', 'burned-in']
    .map((d) => path.join(sampleRoot, d))
    .filter((d) => existsSync(d));
  if (parts.length === 0) return listFiles(sampleRoot);
  const files: string[] = [];
  for (const dir of parts) files.push(...(await listFiles(dir)));
  return files;
}

export interface UploadResult {
  readonly batchId: string;
  readonly files: number;
  readonly bytes: number;
  readonly manifestKey: string;
}

async function presignedPut(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array,
  contentType: string,
) {
  const url = await getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
    {
      expiresIn: 900,
    },
  );
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': contentType } });
  if (!res.ok) throw new Error(`presigned PUT answered ${res.status}`);
}

export async function uploadBatch(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly root: string;
  readonly files: readonly string[];
  readonly batchId?: string;
  readonly concurrency?: number;
  readonly onFile?: (done: number, total: number) => void;
}): Promise<UploadResult> {
  const batchId = options.batchId ?? newBatchId();
  const entries: UploadManifest['files'][number][] = [];
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (next < options.files.length) {
      const file = options.files[next++]!;
      const body = new Uint8Array(await readFile(file));
      const name = path.relative(options.root, file).split(path.sep).join('/');
      await presignedPut(
        options.s3,
        options.bucket,
        `${rawKeys.batchPrefix(batchId)}${name}`,
        body,
        'application/dicom',
      );
      entries.push({ name, size: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') });
      bytes += body.byteLength;
      options.onFile?.(entries.length, options.files.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  const manifest: UploadManifest = {
    version: 1,
    batchId,
    completedAt: new Date().toISOString(),
    files: entries.sort((a, b) => a.name.localeCompare(b.name)),
  };
  const manifestKey = rawKeys.manifest(batchId);
  await presignedPut(
    options.s3,
    options.bucket,
    manifestKey,
    new TextEncoder().encode(JSON.stringify(manifest, null, 2)),
    'application/json',
  );
  return { batchId, files: entries.length, bytes, manifestKey };
}
