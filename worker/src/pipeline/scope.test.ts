import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkScope, type InstanceAttributes, type ModelScope } from '@medimg/common';
import { parseDicom } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { scopeAttributes, selectSeries } from './scope.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const scope = JSON.parse(readFileSync(path.join(REPO, 'models/training/scope.json'), 'utf8')) as ModelScope;

const CT: InstanceAttributes = {
  modality: 'CT',
  sopClass: '1.2.840.10008.5.1.4.1.1.2',
  photometric: 'MONOCHROME2',
  rows: 512,
  columns: 512,
  pixelSpacingMm: [0.68, 0.68],
};

const read = (rel: string) => {
  const bytes = readFileSync(path.join(REPO, rel));
  return parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
};

describe('declared scope rules (models/training/scope.json) and the series selection', () => {
  it('reads the scope attributes of a sample radiograph from its header', () => {
    expect(scopeAttributes(read('sample-dicom/studies/dx-chest/1-chest-pa/001.dcm'))).toEqual({
      modality: 'DX',
      bodyPart: 'CHEST',
      sopClass: '1.2.840.10008.5.1.4.1.1.1.1',
      photometric: 'MONOCHROME2',
      rows: 640,
      columns: 512,
      pixelSpacingMm: [0.7, 0.7],
    });
  });

  it('admits a chest CT without Body Part Examined, but not a head CT or one with a head-sized field of view', () => {
    expect(checkScope(scope, CT)).toEqual({ inScope: true, rule: 'ct_chest' });
    expect(checkScope(scope, { ...CT, bodyPart: 'HEAD' })).toEqual({
      inScope: false,
      reasons: ['BODY_PART'],
    });
    expect(checkScope(scope, { ...CT, pixelSpacingMm: [0.39, 0.39] })).toEqual({
      inScope: false,
      reasons: ['PIXEL_SPACING'],
    });
    expect(checkScope(scope, { ...CT, rows: 256, columns: 256, pixelSpacingMm: [0.66, 0.66] })).toEqual({
      inScope: false,
      reasons: ['FIELD_OF_VIEW'],
    });
  });

  it('requires Body Part Examined CHEST for a radiograph and names the closest rule the image fails', () => {
    const cr = {
      ...CT,
      modality: 'CR',
      sopClass: '1.2.840.10008.5.1.4.1.1.1',
      pixelSpacingMm: [0.2, 0.2] as const,
      rows: 2000,
      columns: 2000,
    };
    expect(checkScope(scope, cr)).toEqual({ inScope: false, reasons: ['BODY_PART'] });
    expect(checkScope(scope, { ...cr, bodyPart: 'CHEST' })).toEqual({ inScope: true, rule: 'xr_chest' });
    expect(checkScope(scope, { modality: 'US', photometric: 'RGB', rows: 480, columns: 640 })).toMatchObject({
      inScope: false,
      reasons: expect.arrayContaining(['MODALITY', 'PHOTOMETRIC']),
    });
  });

  it('selects the in-scope images of a series and gives the reasons of the others, most frequent first', () => {
    const crop = { ...CT, rows: 64, columns: 64 };
    const selection = selectSeries(scope, [CT, crop, undefined, crop, CT]);
    expect(selection).toEqual({
      inScope: [0, 4],
      reasons: ['FIELD_OF_VIEW', 'IMAGE_SIZE', 'MODALITY'],
      rule: 'ct_chest',
    });
    expect(selectSeries(scope, [{ ...CT, modality: 'SR' }]).inScope).toEqual([]);
  });
});
