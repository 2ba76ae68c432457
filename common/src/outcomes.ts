/** Stable reason codes for quarantined inputs and failed steps. Shared by the worker, its record and docs. */
export const REASON_CODES = {
  NOT_DICOM: 'The object is not a DICOM file (no DICM prefix and no parsable data set).',
  DICOM_TRUNCATED: 'The data set ends before an element it announces.',
  DICOM_MALFORMED: 'The data set cannot be parsed (bad lengths, VRs or nesting).',
  DICOM_TOO_LARGE: 'The object is larger than the worker accepts.',
  DECODED_SIZE_LIMIT:
    'Decoded, the object would pass the memory budget (a deflated data set or an image frame larger than MAX_DECODED_BYTES): refused before it is decoded whole.',
  MISSING_REQUIRED_ATTRIBUTE:
    'A required attribute (SOP Instance UID, Study/Series Instance UID) is missing.',
  NO_PIXEL_DATA: 'The object has no image to normalize (not an image SOP class).',
  UNSUPPORTED_TRANSFER_SYNTAX: 'No decoder for the transfer syntax.',
  UNSUPPORTED_PIXEL_FORMAT: 'The pixel format is not supported.',
  PIXEL_DATA_TRUNCATED: 'Pixel data is shorter than rows x columns x samples x frames.',
  PIXEL_DECODE_FAILED: 'The codec failed to decode the pixel data.',
  PROCESSING_TIMEOUT:
    'Decoding the image (the burned-in text scan, the re-encoding of blanked pixels, or the render) passed the per-file time bound (FILE_TIMEOUT_MS); the stuck decoder was stopped.',
  BURNED_IN_ANNOTATION:
    'The image may carry burned-in text (by its modality or flag, or flagged YES with no text found) and the policy quarantines it.',
  BURNED_IN_TEXT: 'Text was found in the pixels and the burned-in policy is quarantine.',
  BURNED_IN_TEXT_REMAINS: 'Text was still found in the pixels after redaction.',
  BURNED_IN_SCAN_TOO_LARGE: 'The image is too large to scan for burned-in text within the per-file budget.',
  DEID_FAILED: 'De-identification could not be completed.',
  FETCH_FAILED: 'The object could not be read from the raw bucket.',
  INTERNAL_ERROR: 'Unexpected error; see the job record for the error code.',
} as const;
export type ReasonCode = keyof typeof REASON_CODES;
