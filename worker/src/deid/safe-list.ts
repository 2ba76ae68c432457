/**
 * THE SAFE LIST: standard attributes that PS3.15 Table E.1-1 does not list and that the
 * de-identification keeps anyway (DESIGN D3, decision 011). Everything else the table does not list
 * is removed: unknown and made-up tags, free text, binary blobs. This file is reviewed like code:
 * every entry says why it is safe, and a change to it needs a second reviewer.
 *
 * How an attribute outside the table is judged (deidentify.ts processStandard), in order:
 *   1. Group 0002, group lengths, overlays and curves: removed (rewritten or not inspectable).
 *   2. Code elements (Code Sequence Macro): codes.ts decides, per item.
 *   3. UI: replaced by a keyed UID, unless a class / transfer syntax / well-known UID.
 *   4. DA / DT: shifted, kept or removed by the longitudinal option (TM kept: a time of day alone
 *      identifies no one).
 *   5. SQ: kept as structure and walked: the same rules apply to every item, at any depth.
 *   6. A value representation in SAFE_VALUE_REPRESENTATIONS: kept when its value has the VR's form.
 *   7. An attribute listed in SAFE_ATTRIBUTES: its `keep` rule.
 *   8. Anything else: removed. PN, LT, ST, UT, UC, UR and AE are never on this list.
 *
 * Facts (keywords, VRs) come from the data dictionary (dictionary-data.ts, generated from
 * ../shared/dicom-standard); the choice of what is safe is ours and lives only here.
 */

import { BODY_PART_TERMS, MODALITY_TERMS } from './vocabularies.ts';

/** Why an attribute outside Table E.1-1 is safe to keep. */
export type SafeReason =
  | 'pixel-data'
  | 'image-presentation'
  | 'waveform-signal'
  | 'geometry-data'
  | 'device-identity'
  | 'acquisition-technique'
  | 'closed-vocabulary'
  | 'technical-label';

export const SAFE_REASONS: Readonly<Record<SafeReason, string>> = {
  'pixel-data': 'The image itself (burned-in text is the burned-in policy’s business, not the header’s).',
  'image-presentation': 'Lookup tables and colour profiles: numbers that map pixel values to display values.',
  'waveform-signal': 'Sampled signal values of a waveform or spectrum: numbers, no text.',
  'geometry-data': 'Point, vector and index lists of surfaces, segmentations and outlines: numbers.',
  'device-identity':
    'Names and versions of the equipment and its software. Kept only under Retain Device Identity ' +
    '(113109), like the table’s own device rows; removed otherwise (Safe Harbor).',
  'acquisition-technique':
    'Short technical labels of how the image was made (kernel, pulse sequence). Vendor-specific, ' +
    'so they count as device identity: kept only under Retain Device Identity.',
  'technical-label':
    'A short label that IODs require (Type 1 or 2). Kept only when Clean Descriptors keeps the ' +
    'whole value; else emptied or given a dummy value, so the object stays valid.',
  'closed-vocabulary':
    'Kept only when the value is one of the standard’s defined terms listed with the entry; any ' +
    'other value is removed.',
};

/**
 * What happens to a safe-listed attribute:
 *   - 'always': kept as is (binary data of a fixed meaning);
 *   - 'device': kept under Retain Device Identity, else `otherwise`;
 *   - 'clean': kept when Clean Descriptors (clean.ts) keeps the whole value, else `otherwise`;
 *   - a list of terms: kept when every value is one of them (upper-cased, trimmed), else
 *     `fallback` when given (a defined term meaning "unspecified"), else `otherwise`.
 * `otherwise` is 'remove' (default), 'empty' (zero length: for attributes that IODs make Type 2)
 * or 'dummy' (a fixed dummy value: for Type 1 labels).
 */
export interface SafeAttribute {
  readonly keyword: string;
  readonly reason: SafeReason;
  readonly keep: 'always' | 'device' | 'clean' | readonly string[];
  readonly otherwise?: 'remove' | 'empty' | 'dummy';
  readonly fallback?: string;
  readonly note?: string;
}

/**
 * Value representations whose values cannot hold a name or free text, kept when the value has the
 * form its VR defines (deidentify.ts checks the form: a DS that is not a number is removed).
 */
export const SAFE_VALUE_REPRESENTATIONS: Readonly<Record<string, string>> = {
  US: 'unsigned 16-bit numbers: sizes, counts, flags',
  SS: 'signed 16-bit numbers',
  UL: 'unsigned 32-bit numbers',
  SL: 'signed 32-bit numbers',
  UV: 'unsigned 64-bit numbers',
  SV: 'signed 64-bit numbers',
  FL: 'single floats: physical quantities',
  FD: 'double floats: physical quantities, geometry',
  AT: 'attribute tags: pointers to other attributes',
  DS: 'decimal strings, kept only when every value is a number',
  IS: 'integer strings, kept only when every value is an integer',
  CS:
    'code strings (at most 16 upper-case letters, digits, space and underscore: defined terms), ' +
    'kept only in that form; attributes with a closed vocabulary below are checked against it',
};

/** PS3.3 C.7.3.1 Rescale Type / Modality LUT Type defined terms (PS3.3 C.11.1.1.2). */
const RESCALE_TYPES = ['OD', 'HU', 'US', 'MGML', 'Z_EFF', 'ED', 'EDW', 'HU_MOD', 'PCT'];

export const SAFE_ATTRIBUTES: readonly SafeAttribute[] = [
  // The image and its pixel layout are numbers (US, CS, DS: covered by the VR rule); the data:
  { keyword: 'PixelData', reason: 'pixel-data', keep: 'always' },
  { keyword: 'FloatPixelData', reason: 'pixel-data', keep: 'always' },
  { keyword: 'DoubleFloatPixelData', reason: 'pixel-data', keep: 'always' },
  { keyword: 'ExtendedOffsetTable', reason: 'pixel-data', keep: 'always' },
  { keyword: 'ExtendedOffsetTableLengths', reason: 'pixel-data', keep: 'always' },
  // Lookup tables.
  { keyword: 'RedPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'GreenPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'BluePaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'AlphaPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'SegmentedRedPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'SegmentedGreenPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'SegmentedBluePaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'SegmentedAlphaPaletteColorLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'BlendingLookupTableData', reason: 'image-presentation', keep: 'always' },
  { keyword: 'LUTData', reason: 'image-presentation', keep: 'always' },
  {
    keyword: 'ICCProfile',
    reason: 'image-presentation',
    keep: 'always',
    note: 'an ICC profile may name its creator; it describes a device, not a patient',
  },
  {
    keyword: 'RescaleType',
    reason: 'closed-vocabulary',
    keep: RESCALE_TYPES,
    fallback: 'US',
    note: 'LO in the dictionary, but the standard defines its terms; US means unspecified',
  },
  { keyword: 'ModalityLUTType', reason: 'closed-vocabulary', keep: RESCALE_TYPES, fallback: 'US' },
  {
    keyword: 'LUTExplanation',
    reason: 'technical-label',
    keep: 'clean',
    otherwise: 'dummy',
    note: 'Type 1 in the Real World Value Mapping item',
  },
  { keyword: 'LUTLabel', reason: 'technical-label', keep: 'clean', otherwise: 'dummy', note: 'Type 1' },
  {
    keyword: 'PositionReferenceIndicator',
    reason: 'technical-label',
    keep: 'clean',
    otherwise: 'empty',
    note: 'Type 2 in the Frame of Reference module',
  },
  {
    keyword: 'StackID',
    reason: 'technical-label',
    keep: 'clean',
    note: 'usually a number; In-Stack Position Number depends on it',
  },
  {
    keyword: 'BodyPartExamined',
    reason: 'closed-vocabulary',
    keep: BODY_PART_TERMS,
    note: 'PS3.16 Annex L terms; a name typed into it (seen in the wild) is removed',
  },
  { keyword: 'Modality', reason: 'closed-vocabulary', keep: MODALITY_TERMS },
  // Waveforms and spectra.
  { keyword: 'WaveformData', reason: 'waveform-signal', keep: 'always' },
  { keyword: 'ChannelMinimumValue', reason: 'waveform-signal', keep: 'always' },
  { keyword: 'ChannelMaximumValue', reason: 'waveform-signal', keep: 'always' },
  { keyword: 'WaveformPaddingValue', reason: 'waveform-signal', keep: 'always' },
  { keyword: 'SpectroscopyData', reason: 'waveform-signal', keep: 'always' },
  { keyword: 'FirstOrderPhaseCorrectionAngle', reason: 'waveform-signal', keep: 'always' },
  // Geometry.
  { keyword: 'VerticesOfThePolygonalOutline', reason: 'geometry-data', keep: 'always' },
  { keyword: 'PointCoordinatesData', reason: 'geometry-data', keep: 'always' },
  { keyword: 'DoublePointCoordinatesData', reason: 'geometry-data', keep: 'always' },
  { keyword: 'VectorCoordinateData', reason: 'geometry-data', keep: 'always' },
  { keyword: 'LongPrimitivePointIndexList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'LongTrianglePointIndexList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'LongEdgePointIndexList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'LongVertexPointIndexList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'TrackPointIndexList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'FloatingPointValues', reason: 'geometry-data', keep: 'always' },
  { keyword: 'RecommendedDisplayCIELabValueList', reason: 'geometry-data', keep: 'always' },
  { keyword: 'VectorGridData', reason: 'geometry-data', keep: 'always' },
  // Device identity (Retain Device Identity), beside the table's own device rows.
  {
    keyword: 'Manufacturer',
    reason: 'device-identity',
    keep: 'device',
    otherwise: 'dummy',
    note: 'Type 2 in General Equipment, Type 1 in Enhanced General Equipment: a dummy, not removed',
  },
  {
    keyword: 'ManufacturerModelName',
    reason: 'device-identity',
    keep: 'device',
    otherwise: 'dummy',
    note: 'Type 1 in Enhanced General Equipment',
  },
  {
    keyword: 'SoftwareVersions',
    reason: 'device-identity',
    keep: 'device',
    otherwise: 'dummy',
    note: 'Type 1 in Enhanced General Equipment',
  },
  { keyword: 'DeviceID', reason: 'device-identity', keep: 'device' },
  { keyword: 'SecondaryCaptureDeviceManufacturer', reason: 'device-identity', keep: 'device' },
  { keyword: 'SecondaryCaptureDeviceManufacturerModelName', reason: 'device-identity', keep: 'device' },
  { keyword: 'SecondaryCaptureDeviceSoftwareVersions', reason: 'device-identity', keep: 'device' },
  { keyword: 'DetectorManufacturerName', reason: 'device-identity', keep: 'device' },
  { keyword: 'DetectorManufacturerModelName', reason: 'device-identity', keep: 'device' },
  { keyword: 'ReceiveCoilName', reason: 'device-identity', keep: 'device' },
  { keyword: 'TransmitCoilName', reason: 'device-identity', keep: 'device' },
  { keyword: 'ReceiveCoilManufacturerName', reason: 'device-identity', keep: 'device' },
  { keyword: 'TransmitCoilManufacturerName', reason: 'device-identity', keep: 'device' },
  { keyword: 'ConvolutionKernel', reason: 'acquisition-technique', keep: 'device' },
  { keyword: 'SequenceName', reason: 'acquisition-technique', keep: 'device' },
  { keyword: 'PulseSequenceName', reason: 'acquisition-technique', keep: 'device' },
  { keyword: 'ImagedNucleus', reason: 'acquisition-technique', keep: 'device' },
];
