import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runBounded } from '@medimg/common/testing/child.ts';
import { characterSetOf, getNumber, getString, parseDicom, T } from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { CT_STUDY, ctLesionSlices, SAMPLE_ROOT, writeSamples } from './generate.ts';

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(join(root, 'studies'));
  walk(join(root, 'bad'));
  walk(join(root, 'burned-in'));
  return out.sort();
}
const committedFiles = (): string[] => filesUnder(SAMPLE_ROOT);

const scratch = mkdtempSync(join(tmpdir(), 'sample-dicom-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const generated = writeSamples(scratch);
const studyFiles = committedFiles().filter((p) => p.startsWith('studies/'));

describe('sample DICOM files', () => {
  it('regenerate byte for byte identical to the committed files', () => {
    expect(filesUnder(scratch)).toEqual(committedFiles());
    const differing = filesUnder(scratch).filter(
      (p) => !readFileSync(join(scratch, p)).equals(readFileSync(join(SAMPLE_ROOT, p))),
    );
    expect(differing).toEqual([]);
  });

  it('stay under 20 MB in total', () => {
    expect(generated.reduce((n, f) => n + f.bytes.length, 0)).toBeLessThan(20 * 1024 * 1024);
  });

  it('parse with parseDicom and pass dcmdump without errors or warnings', () => {
    const problems: string[] = [];
    for (const rel of [
      ...studyFiles,
      'bad/us-burned-in-annotation.dcm',
      'burned-in/us-liver-text.dcm',
      'burned-in/dx-chest-text.dcm',
    ]) {
      const path = join(SAMPLE_ROOT, rel);
      const file = parseDicom(readFileSync(path));
      if (!getString(file.dataset, T.SOPInstanceUID)?.startsWith('2.25.'))
        problems.push(`${rel}: SOP Instance UID`);
      const dump = runBounded('dcmdump', ['-q', path], {
        name: 'dcmdump',
        timeoutMs: 30_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      }).stdout;
      const issues = dump.split('\n').filter((l) => /^[EW]:/.test(l));
      if (issues.length > 0) problems.push(`${rel}: ${issues[0]}`);
    }
    if (problems.length > 0) console.log(problems.join('\n'));
    expect(problems).toEqual([]);
  });

  it('make the bad inputs fail as intended', () => {
    expect(() => parseDicom(readFileSync(join(SAMPLE_ROOT, 'bad/ct-truncated.dcm')))).toThrow(
      expect.objectContaining({ code: 'DICOM_TRUNCATED' }),
    );
    expect(() => parseDicom(readFileSync(join(SAMPLE_ROOT, 'bad/not-dicom.txt')))).toThrow(
      expect.objectContaining({ code: 'NOT_DICOM' }),
    );
    const us = parseDicom(readFileSync(join(SAMPLE_ROOT, 'bad/us-burned-in-annotation.dcm')));
    expect(getString(us.dataset, T.BurnedInAnnotation)).toBe('YES');
    expect(getString(us.dataset, T.Modality)).toBe('US');
  });

  it('use ISO_IR 100 for the CT and ISO_IR 192 for the MR patient names', () => {
    const ct = parseDicom(readFileSync(join(SAMPLE_ROOT, `${CT_STUDY.folder}/${CT_STUDY.series}/001.dcm`)));
    expect(characterSetOf(ct.dataset).terms).toEqual(['ISO_IR 100']);
    expect(getString(ct.dataset, T.PatientName)).toBe('Lefèvre^Hélène^Marie');
    const mr = parseDicom(readFileSync(join(SAMPLE_ROOT, 'studies/mr-head/3-t1-se-axial/001.dcm')));
    expect(characterSetOf(mr.dataset).terms).toEqual(['ISO_IR 192']);
    expect(getString(mr.dataset, T.PatientName)).toBe('Müller-Østergaard^Zoë^Renée');
  });

  it('put the CT nodule (about 30 HU) in the right lung on the middle slices only', () => {
    const { core, touching } = ctLesionSlices();
    expect(core).toEqual([21, 22, 23, 24, 25, 26, 27]);
    // Pixel at the nodule centre: x = -80 mm, y = -15 mm.
    const huAt = (n: number): number => {
      const file = parseDicom(
        readFileSync(
          join(SAMPLE_ROOT, `${CT_STUDY.folder}/${CT_STUDY.series}/${String(n).padStart(3, '0')}.dcm`),
        ),
      );
      const spacing = getNumber(file.dataset, T.PixelSpacing, 'little')!;
      const origin = getNumber(file.dataset, T.ImagePositionPatient, 'little')!;
      const col = Math.round((-80 - origin) / spacing);
      const row = Math.round((-15 - origin) / spacing);
      const columns = getNumber(file.dataset, T.Columns, 'little')!;
      const px = file.dataset.get(T.PixelData)!.value;
      let sum = 0;
      for (const [dr, dc] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const) {
        sum += new DataView(px.buffer, px.byteOffset).getInt16(((row + dr) * columns + col + dc) * 2, true);
      }
      return sum / 4 + getNumber(file.dataset, T.RescaleIntercept, 'little')!;
    };
    expect(huAt(24)).toBeGreaterThan(0);
    expect(huAt(24)).toBeLessThan(80);
    expect(huAt(Math.min(...touching) - 3)).toBeLessThan(-700);
    expect(huAt(Math.max(...touching) + 3)).toBeLessThan(-700);
  });
});
