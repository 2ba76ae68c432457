/**
 * Where the public DICOM test corpus is (a setting, not a fixed path): `MEDIMG_CORPUS`, by default
 * `../shared/dicom-corpus` beside the checkout. Corpus tests use `describe.skipIf(!CORPUS_PRESENT)`;
 * the test run's global setup prints one line when it is absent, and fails under CI (CI=true).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_ENV = 'MEDIMG_CORPUS';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const DEFAULT_CORPUS_DIR = path.resolve(REPO_ROOT, '../shared/dicom-corpus');

export const CORPUS_DIR = process.env[CORPUS_ENV]
  ? path.resolve(process.env[CORPUS_ENV])
  : DEFAULT_CORPUS_DIR;

/** A folder with at least one entry. */
export const CORPUS_PRESENT = existsSync(CORPUS_DIR) && readdirSync(CORPUS_DIR).length > 0;

/** The one line printed when the corpus tests are skipped (or the failure under CI). */
export function corpusMissingLine(): string {
  return (
    `DICOM corpus tests skipped: no corpus at ${CORPUS_DIR}. Set ${CORPUS_ENV} to a folder of public ` +
    'DICOM test files (README: "Test corpus" lists the public sources)'
  );
}
