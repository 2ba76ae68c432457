import {
  checkScope,
  type InstanceAttributes,
  type ModelScope,
  type ScopeReason,
  type ScopeVerdict,
} from '@medimg/common';
import { type DicomFile, getNumber, getNumbers, getString, T } from '@medimg/dicom';

/**
 * The scope attributes of a de-identified image (issue 17): modality, body part, SOP class, photometric
 * interpretation, size and pixel spacing. None of them identifies anyone; the de-identification profile
 * keeps them all. Pixel Spacing wins over Imager Pixel Spacing (projection radiographs often carry only the latter).
 */
export function scopeAttributes(file: DicomFile): InstanceAttributes {
  const ds = file.dataset;
  const bo = file.transferSyntax.byteOrder;
  const code = (v: string | undefined) => (v ? v.trim().toUpperCase() : undefined);
  const spacing = [getNumbers(ds, T.PixelSpacing, bo), getNumbers(ds, T.ImagerPixelSpacing, bo)].find(
    (p) => p.length >= 2 && p[0]! > 0 && p[1]! > 0,
  );
  const rows = getNumber(ds, T.Rows, bo);
  const columns = getNumber(ds, T.Columns, bo);
  const modality = code(getString(ds, T.Modality));
  const bodyPart = code(getString(ds, T.BodyPartExamined));
  const sopClass = getString(ds, T.SOPClassUID)?.trim();
  const photometric = code(getString(ds, T.PhotometricInterpretation));
  return {
    ...(modality ? { modality } : {}),
    ...(bodyPart ? { bodyPart } : {}),
    ...(sopClass ? { sopClass } : {}),
    ...(photometric ? { photometric } : {}),
    ...(rows !== undefined ? { rows } : {}),
    ...(columns !== undefined ? { columns } : {}),
    ...(spacing ? { pixelSpacingMm: [spacing[0]!, spacing[1]!] as const } : {}),
  };
}

export interface SeriesSelection {
  /** Indexes of the series' images in scope, in the order given. */
  readonly inScope: readonly number[];
  /** The reasons of the images out of scope, most frequent first (closed vocabulary). */
  readonly reasons: readonly ScopeReason[];
  /** The rule the in-scope images matched (the first one's). */
  readonly rule?: string;
}

/**
 * Series selection before inference (MONAI Deploy-style rules, as data): each image is checked against the
 * model's declared scope; a series whose images are all out of scope is not assessed at all.
 */
export function selectSeries(
  scope: ModelScope,
  images: readonly (InstanceAttributes | undefined)[],
): SeriesSelection {
  const inScope: number[] = [];
  const counts = new Map<ScopeReason, number>();
  let rule: string | undefined;
  images.forEach((attributes, index) => {
    const verdict: ScopeVerdict = attributes
      ? checkScope(scope, attributes)
      : { inScope: false, reasons: ['MODALITY'] };
    if (verdict.inScope) {
      inScope.push(index);
      rule ??= verdict.rule;
    } else for (const r of verdict.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  });
  const reasons = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([r]) => r);
  return { inScope, reasons, ...(rule ? { rule } : {}) };
}
