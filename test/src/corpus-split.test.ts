/**
 * The written-down split of the public corpus (models/training/corpus-split.json) into training, calibration
 * and evaluation sets: every file listed once, groups by patient/study, and no patient or study in two sets.
 * Needs the corpus (MEDIMG_CORPUS, by default ../shared/dicom-corpus); skipped with the run's one line without it, failed under CI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScope } from '@medimg/common';
import { CORPUS_DIR, CORPUS_PRESENT } from '@medimg/common/testing/corpus.ts';
import { parseDicom } from '@medimg/dicom';
import { deidentify } from '@medimg/worker/deid/deidentify.ts';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import { scopeAttributes } from '@medimg/worker/pipeline/scope.ts';
import { describe, expect, it } from 'vitest';
import { corpusGroups } from '../../worker/scripts/corpus-model-inputs.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// The corpus setting every corpus test uses (MEDIMG_CORPUS, by default ../shared/dicom-corpus).
const CORPUS = CORPUS_DIR;
const split = JSON.parse(readFileSync(join(REPO, 'models/training/corpus-split.json'), 'utf8')) as {
  groups: { name: string; split: string; files: string[] }[];
};
const scope = JSON.parse(readFileSync(join(REPO, 'models/training/scope.json'), 'utf8'));
const model = JSON.parse(readFileSync(join(REPO, 'models/artifacts/model.json'), 'utf8'));

const splitOf = new Map(split.groups.flatMap((g) => g.files.map((f) => [f, g.split] as const)));

function inScope(path: string): boolean {
  try {
    const bytes = readFileSync(join(CORPUS, path));
    const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const deid = deidentify(file, { key: new Uint8Array(32), options: DEFAULT_DEID_OPTIONS });
    return checkScope(scope, scopeAttributes(deid.file)).inScope;
  } catch {
    return false;
  }
}

describe.skipIf(!CORPUS_PRESENT)('the corpus split (training / calibration / evaluation)', () => {
  it('lists every corpus file exactly once, in one of the three sets', () => {
    expect(existsSync(join(CORPUS, 'manifest.tsv')), `the corpus folder ${CORPUS} is missing`).toBe(true);
    const manifest = readFileSync(join(CORPUS, 'manifest.tsv'), 'utf8').trim().split('\n').slice(1);
    const listed = split.groups.flatMap((g) => g.files);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(manifest.map((l) => l.split('\t')[0]!).sort());
    for (const g of split.groups) expect(['training', 'calibration', 'evaluation']).toContain(g.split);
  });

  it('never puts files of one patient or one study into two sets', () => {
    for (const group of corpusGroups(CORPUS)) {
      const sets = new Set(group.map((f) => splitOf.get(f)));
      expect(sets.size, group.join(', ')).toBe(1);
    }
  });

  it('holds in-scope real studies in both the calibration and the evaluation set, as the model card counts them', () => {
    const studies = (name: string) =>
      split.groups.filter((g) => g.split === name && g.files.some(inScope)).map((g) => g.name);
    expect(studies('calibration').length).toBeGreaterThan(0);
    expect(studies('evaluation').length).toBeGreaterThan(0);
    expect(studies('calibration').some((g) => studies('evaluation').includes(g))).toBe(false);
    expect(model.corpus.inScopeStudies).toMatchObject({
      calibration: studies('calibration').length,
      evaluation: studies('evaluation').length,
    });
    expect(model.performance.falseAlarmsPer100Studies.studies).toBe(studies('evaluation').length);
  });
});
