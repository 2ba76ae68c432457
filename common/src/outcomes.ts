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
  BURNED_IN_ANNOTATION: 'The image may carry burned-in text and the policy quarantines it.',
  DEID_FAILED: 'De-identification could not be completed.',
  FETCH_FAILED: 'The object could not be read from the raw bucket.',
  INTERNAL_ERROR: 'Unexpected error; see the job record for the error code.',
} as const;
export type ReasonCode = keyof typeof REASON_CODES;
