/**
 * @medimg/dicom: DICOM Part 10 parsing and writing, the data dictionary, Specific Character Set
 * text, and the named tags the pipeline uses. This file is the library's only public face; the
 * modules beside it are internal (see docs/decisions/010-dicom-library-workspace.md).
 */
export type {
  ByteOrder,
  DataElement,
  DataSet,
  DicomFile,
  EncapsulatedPixelData,
  Tag,
  TransferSyntax,
} from './dataset.ts';
export { elementOf, formatTag, groupOf, isPrivateTag, tag } from './dataset.ts';
export { type DictEntry, dictionaryEntries, keywordToTag, lookupTag, resolveVr } from './dictionary.ts';
export {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  DicomParseError,
  type DicomParseErrorCode,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  isKnownVr,
  type ParseOptions,
  parseDicom,
  TRANSFER_SYNTAXES,
  transferSyntaxOf,
} from './parse.ts';
export { T, type TagName } from './tags.ts';
export {
  type CharacterSet,
  CharsetError,
  characterSetOf,
  DEFAULT_CHARACTER_SET,
  decodeText,
  encodeText,
  formatDS,
  getNumber,
  getNumbers,
  getString,
  getStrings,
  numberElement,
  STRING_VRS,
  sequenceElement,
  stringElement,
} from './values.ts';
export {
  buildFileMeta,
  DicomWriteError,
  encodeDataSet,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  writePart10,
} from './writer.ts';
