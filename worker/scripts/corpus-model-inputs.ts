/**
 * Model inputs of the public DICOM corpus, rendered exactly as the worker renders them, for training and
 * calibrating the reference model (issue 17). Run by `npm run train -w models` before train.py:
 *
 *   tsx worker/scripts/corpus-model-inputs.ts <corpus-dir> <split.json> <scope.json> <out-dir>
 *
 * Each file listed in the split goes through the worker's own parse -> de-identify -> normalize steps
 * (fixed throw-away key; the burned-in policy quarantines as in production, so those files have no input),
 * and its scope verdict comes from common's checkScope on the de-identified attributes. Writes
 * `<out-dir>/corpus-inputs.bin` (uint8, N x 128 x 128, the model-input PNGs' pixels) and
 * `<out-dir>/corpus-inputs.json` (one entry per file: path, group, split, inScope, rule or reasons, and the
 * index of its image in the .bin or null). Nothing is copied into the repository.
 *
 *   tsx worker/scripts/corpus-model-inputs.ts --groups <corpus-dir>
 * prints the patient/study groups of the corpus (files sharing a Patient ID or a Study Instance UID), which
 * is how models/training/corpus-split.json was written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkScope, MODEL_INPUT_SIZE, type ModelScope } from '@medimg/common';
import { getString, parseDicom, T } from '@medimg/dicom';
import sharp from 'sharp';
import { deidentify } from '../src/deid/deidentify.ts';
import { DEFAULT_DEID_OPTIONS } from '../src/deid/options.ts';
import { renderImage } from '../src/imaging/render.ts';
import { scopeAttributes } from '../src/pipeline/scope.ts';

interface SplitFile {
  readonly groups: readonly {
    readonly name: string;
    readonly split: string;
    readonly files: readonly string[];
  }[];
}

/** Files grouped by shared Patient ID or Study Instance UID (union-find over the corpus manifest). */
export function corpusGroups(corpus: string): string[][] {
  const lines = readFileSync(join(corpus, 'manifest.tsv'), 'utf8').trim().split('\n').slice(1);
  const paths = lines.map((l) => l.split('\t')[0]!);
  const parent = paths.map((_, i) => i);
  const find = (i: number): number => {
    const p = parent[i]!;
    if (p === i) return i;
    const root = find(p);
    parent[i] = root;
    return root;
  };
  const seen = new Map<string, number>();
  paths.forEach((path, i) => {
    let keys: string[] = [];
    try {
      const bytes = readFileSync(join(corpus, path));
      const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const patient = getString(file.dataset, T.PatientID)?.trim();
      const study = getString(file.dataset, T.StudyInstanceUID)?.trim();
      keys = [...(patient ? [`patient:${patient}`] : []), ...(study ? [`study:${study}`] : [])];
    } catch {
      keys = [];
    }
    for (const key of keys) {
      const other = seen.get(key);
      if (other === undefined) seen.set(key, i);
      else parent[find(i)] = find(other);
    }
  });
  const groups = new Map<number, string[]>();
  paths.forEach((path, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), path]);
  });
  return [...groups.values()];
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--groups') {
    process.stdout.write(`${JSON.stringify(corpusGroups(argv[1]!), null, 2)}\n`);
    return;
  }
  const [corpus, splitPath, scopePath, outDir] = argv;
  if (!corpus || !splitPath || !scopePath || !outDir) {
    throw new Error('usage: corpus-model-inputs.ts <corpus-dir> <split.json> <scope.json> <out-dir>');
  }
  const split = JSON.parse(readFileSync(splitPath, 'utf8')) as SplitFile;
  const scope = JSON.parse(readFileSync(scopePath, 'utf8')) as ModelScope;
  const key = new Uint8Array(32); // throw-away: the pseudonyms are never written
  const pixels: Buffer[] = [];
  const entries: unknown[] = [];
  for (const group of split.groups) {
    for (const path of group.files) {
      let entry: Record<string, unknown> = { path, group: group.name, split: group.split, image: null };
      try {
        const bytes = readFileSync(join(corpus, path));
        const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        const deid = deidentify(file, { key, options: DEFAULT_DEID_OPTIONS });
        const verdict = checkScope(scope, scopeAttributes(deid.file));
        entry = { ...entry, ...verdict };
        if (!deid.blankingPending) {
          const rendered = await renderImage(deid.file);
          const raw = await sharp(rendered.modelInput).toColourspace('b-w').raw().toBuffer();
          if (raw.length !== MODEL_INPUT_SIZE * MODEL_INPUT_SIZE)
            throw new Error('unexpected model input size');
          entry.image = pixels.length;
          pixels.push(raw);
        }
      } catch (error) {
        entry.error = (error as { code?: string }).code ?? 'ERROR';
      }
      entries.push(entry);
    }
  }
  writeFileSync(join(outDir, 'corpus-inputs.bin'), Buffer.concat(pixels));
  writeFileSync(join(outDir, 'corpus-inputs.json'), `${JSON.stringify(entries, null, 1)}\n`);
  process.stdout.write(`corpus: ${entries.length} files, ${pixels.length} model inputs\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`corpus-model-inputs: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
