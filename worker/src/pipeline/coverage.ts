/**
 * What each step covers today, written into every job record and the README. Keep it true:
 * a later change that widens a step updates its line here.
 */
export const PIPELINE_COVERAGE: Readonly<Record<string, string>> = {
  fetch:
    'Reads each object of the job spec from the raw bucket; objects over the size limit, or whose decoded size would pass the memory budget, are quarantined.',
  parse:
    'dicom-parser: implicit/explicit VR little endian, explicit big endian, deflated; files with or without preamble or File Meta Information.',
  deidentify:
    'DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile, table-driven from Table E.1-1 with the configured profile (research or safe-harbor); attributes outside the table removed unless on the reviewed safe list; codes kept only for known schemes; descriptors kept or removed whole; keyed HMAC-SHA256 UIDs and pseudonyms; per-patient date shift; private tags removed; burned-in text found in the pixels (cheap text-line detection, tesseract.js OCR of the candidates, offline) and quarantined or redacted with a re-check of the output, or configured regions blanked (compressed pixel data decoded, blanked and re-encoded losslessly as native Explicit VR Little Endian; undecodable files quarantined).',
  normalize:
    'Modality LUT, VOI window, MONOCHROME1 inversion, colour conversion; preview, thumbnail and model input PNGs (sharp).',
  store:
    'De-identified DICOM and PNGs in the processed bucket under de-identified UIDs; linkage record in the linkage store only.',
  infer:
    "The model's metadata first; series outside its declared scope are not assessed (out of scope) and never sent; one request stream per in-scope series to the SageMaker endpoint, split under the payload limit, retried with backoff; images the model finds out of distribution are not assessed.",
  assess:
    "Per-label thresholds from configuration, else the model's calibrated ones; series maximum over images; one critical finding per label per study.",
  notify:
    "One SNS message per critical finding per study, deduplicated across jobs and re-runs; links the de-identified image with the box; states the model's intended use, measured false alarm rate and that it is decision support; no PHI in the message.",
  record: 'results.json per study and this status record per job.',
};
