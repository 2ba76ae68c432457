/**
 * The reference model on the sample studies, through the worker's own rendering: the lesion in
 * sample-dicom is flagged, the normal samples are not.
 *
 * For every series in sample-dicom/studies, each file is parsed (`parseDicom`), rendered to the model
 * input the worker sends (`renderImage(file).modelInput`: first header window, 8 bit, 128x128 `fit:
 * contain` on black) and scored in process by the committed model (models/artifacts). As the worker does,
 * a series scores the maximum over its images, and a finding is critical at or above the model's calibrated
 * critical threshold (model.json `criticalThresholds`, what the worker uses unless configured otherwise).
 * Every sample series is inside the model's declared scope and in distribution. The model never trained on these files: they are its
 * independent check on the project's demo data (models/MODEL_CARD.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScope, MODEL_INPUT_SIZE } from '@medimg/common';
import { parseDicom } from '@medimg/dicom';
import { ARTIFACTS_DIR, decodeModelInput, type LoadedModel, loadModel } from '@medimg/models';
import { renderImage } from '@medimg/worker/imaging/render.ts';
import { scopeAttributes } from '@medimg/worker/pipeline/scope.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const STUDIES = resolve(fileURLToPath(new URL('../../sample-dicom/studies', import.meta.url)));
/** The lesion study (sample-dicom/README.md): the nodule is on instances 20-28, largest on 24. */
const LESION_SERIES = 'ct-chest/1-axial-chest';
const LESION_INSTANCES = { first: 20, last: 28 };

interface SeriesScore {
  readonly series: string;
  readonly images: number;
  /** Highest score over the series' images, per label. */
  readonly max: Record<string, number>;
  /** File name (instance) of the highest score, per label. */
  readonly argmax: Record<string, string>;
  /** Scope rule of every image (undefined when one is out of scope), and the largest OOD distance. */
  readonly rules: readonly (string | undefined)[];
  readonly maxOod: number;
}

function seriesFolders(): string[] {
  const out: string[] = [];
  for (const study of readdirSync(STUDIES, { withFileTypes: true })) {
    if (!study.isDirectory()) continue;
    for (const series of readdirSync(join(STUDIES, study.name), { withFileTypes: true })) {
      if (series.isDirectory()) out.push(`${study.name}/${series.name}`);
    }
  }
  return out.sort();
}

async function scoreSeries(model: LoadedModel, series: string): Promise<SeriesScore> {
  const files = readdirSync(join(STUDIES, series))
    .filter((f) => f.endsWith('.dcm'))
    .sort();
  const size = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE;
  const pixels = new Float32Array(files.length * size);
  const rules: (string | undefined)[] = [];
  for (const [i, name] of files.entries()) {
    const bytes = readFileSync(join(STUDIES, series, name));
    const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const verdict = checkScope(model.manifest.scope, scopeAttributes(file));
    rules.push(verdict.inScope ? verdict.rule : undefined);
    const { modelInput } = await renderImage(file);
    await decodeModelInput(modelInput, pixels, i * size, `image ${i}`);
  }
  const { scores, oodDistances } = await model.run(pixels, files.length);
  let best = 0;
  for (let i = 1; i < files.length; i++) if (scores[i]! > scores[best]!) best = i;
  return {
    series,
    images: files.length,
    max: { [model.label]: scores[best] ?? 0 },
    argmax: { [model.label]: files[best] ?? '' },
    rules,
    maxOod: Math.max(...oodDistances),
  };
}

const instanceOf = (fileName: string): number => Number.parseInt(fileName, 10);

let model: LoadedModel;
let results: SeriesScore[];

beforeAll(async () => {
  model = await loadModel(ARTIFACTS_DIR);
  results = [];
  for (const series of seriesFolders()) results.push(await scoreSeries(model, series));
  const label = model.label;
  const lines = [
    `model ${model.identity.name} ${model.identity.version}; critical at ${label} >= ${model.manifest.criticalThresholds[label]}; OOD limit ${model.manifest.ood?.limit}`,
    `${'series'.padEnd(28)} ${'images'.padStart(6)}  ${`max ${label}`.padStart(22)}  at       max OOD distance`,
    ...results.map(
      (r) =>
        `${r.series.padEnd(28)} ${String(r.images).padStart(6)}  ${r.max[label]!.toFixed(4).padStart(22)}  ${r.argmax[label]}  ${r.maxOod.toFixed(3)}`,
    ),
  ];
  console.log(lines.join('\n'));
});

afterAll(async () => {
  await model?.close();
});

describe('the reference model on sample-dicom, rendered as the worker renders it', () => {
  it('scores every series of the sample studies, the lesion study among them', () => {
    expect(results.map((r) => r.series)).toContain(LESION_SERIES);
    expect(results.length).toBeGreaterThanOrEqual(3);
    for (const r of results) expect(r.images).toBeGreaterThan(0);
  });

  it("puts every sample image inside the model's declared scope and in distribution", () => {
    const rules = Object.fromEntries(results.map((r) => [r.series, [...new Set(r.rules)]]));
    expect(rules).toMatchObject({
      'ct-chest/1-axial-chest': ['ct_chest'],
      'dx-chest/1-chest-pa': ['xr_chest'],
      'mr-head/3-t1-se-axial': ['mr_head'],
    });
    for (const r of results) expect(r.maxOod, r.series).toBeLessThanOrEqual(model.manifest.ood!.limit);
  });

  it('flags the CT nodule as critical, on one of the slices through it', () => {
    const threshold = model.manifest.criticalThresholds[model.label];
    expect(threshold).toBeTypeOf('number');
    const ct = results.find((r) => r.series === LESION_SERIES)!;
    expect(ct.max[model.label]).toBeGreaterThanOrEqual(threshold!);
    const at = instanceOf(ct.argmax[model.label]!);
    expect(at).toBeGreaterThanOrEqual(LESION_INSTANCES.first);
    expect(at).toBeLessThanOrEqual(LESION_INSTANCES.last);
  });

  it('keeps every normal series below the critical threshold', () => {
    const threshold = model.manifest.criticalThresholds[model.label]!;
    const normal = results.filter((r) => r.series !== LESION_SERIES);
    expect(normal.length).toBeGreaterThanOrEqual(2);
    for (const r of normal) {
      expect(r.max[model.label], r.series).toBeLessThan(threshold);
    }
  });
});
