import { batchIdOfKey, isManifestKey, MANIFEST_FILE_NAME, rawKeys } from '@medimg/common';

/**
 * The batching rules (README "Batching rules"), as pure functions of a key.
 *
 * - `incoming/<batchId>/manifest.json` starts one job for the files it lists, when the upload API
 *   wrote it (its metadata says so; jobs.ts); any other manifest starts nothing.
 * - A file in a folder whose name has the batch-id form (`b-...`) waits for the manifest when the
 *   upload API issued that batch (`batches/<batchId>.json` exists; trigger.ts); otherwise it is loose.
 * - A file in any other folder is loose and grouped with the other loose files of the same folder
 *   in the same invocation (one job per folder per SQS batch).
 * - A file directly under `incoming/` is loose, grouped under `incoming/`.
 * - Anything else (outside `incoming/`, folder markers ending in `/`) is ignored.
 */
export type KeyClass =
  | { readonly kind: 'ignored' }
  | { readonly kind: 'manifest'; readonly batchId: string }
  | { readonly kind: 'managed-file'; readonly batchId: string }
  | { readonly kind: 'folder-file'; readonly folder: string; readonly prefix: string }
  | { readonly kind: 'root-file'; readonly prefix: string };

export function classifyKey(key: string, managedBatchIdPattern: RegExp): KeyClass {
  if (!key.startsWith(rawKeys.incomingPrefix) || key.endsWith('/')) return { kind: 'ignored' };
  const folder = batchIdOfKey(key);
  if (folder === undefined) return { kind: 'root-file', prefix: rawKeys.incomingPrefix };
  if (isManifestKey(key)) return { kind: 'manifest', batchId: folder };
  if (managedBatchIdPattern.test(folder)) return { kind: 'managed-file', batchId: folder };
  return { kind: 'folder-file', folder, prefix: `${rawKeys.incomingPrefix}${folder}/` };
}

/**
 * The key of a file listed in a manifest (`name` is relative to the batch folder). Returns
 * undefined for a name that would leave the folder or point at the manifest itself.
 */
export function manifestFileKey(batchId: string, name: string): string | undefined {
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  if (name === MANIFEST_FILE_NAME) return undefined;
  return `${rawKeys.batchPrefix(batchId)}${name}`;
}
