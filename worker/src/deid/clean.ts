/**
 * "Clean" (action C) for free text: descriptors (Clean Descriptors Option), free text inside
 * cleaned sequences (Clean Structured Content / Graphics) and patient-characteristic notes.
 *
 * We cannot prove free text is free of identifiers, so cleaning is an allow-list: the text is cut
 * into words, and only words from a fixed imaging vocabulary (anatomy, modality, technique,
 * orientation, contrast) and short technical tokens (numbers of at most 3 digits with an optional
 * unit, "T1", "B30f", "3D") survive; everything else - names, ids, dates, long numbers, any
 * non-ASCII word - is dropped. Words equal to a part of the patient's name or id are dropped even
 * when they are in the vocabulary. The result is ASCII, never longer than the input.
 */

const VOCABULARY = new Set(
  `
abd abdomen abdominal ac acq acquisition adc add adrenal ankle ant anterior aorta aortic ap apex appendix
arch arm arterial artery arteries ax axial axis b0 bilat bilateral biliary bladder blood bone bones bowel
brain breast bw c calf cardiac carotid cerebral cervical chest cine circle cirs colon cor coronal
contrast cor cranial cspine csf ct cta ctp curved delay delayed dense detail diffusion dist distal dixon
dorsal dose dual duodenum dwi dynamic early echo elbow enhanced eq equilibrium esophagus exam ext
extremity face fast fat fatsat fe femur fibula fiesta field fl flair flow fluoro foot forearm fossa
frontal fs fse full gated gd gado gadolinium gre hand haste head heart hepatic hip hips humerus ileum
iliac image images inf inferior initial injection inspiration expiration internal iv jaw joint kidney
kidneys knee kub l lat lateral left leg limb liver loc localizer localiser low lower lspine lumbar lung
lungs mammo mammogram mandible map mask max maxillofacial med medial mediastinum mid min mip mpr
mprage mr mra mri mrcp multi multiphase native neck neuro no non oblique orbit orbits oblique obl
o pa pancreas parasagittal pelvis pelvic perfusion pet phase plain plus portal post posterior pre prone
prostate pulmonary r radius range recon reconstruction reformat rectum renal resp right rib ribs routine
run sag sagittal scan scanogram scout se series shoulder sinus sinuses skull slab slice soft spine
spin spleen standard std stir stomach sup superior supine survey swi t tspine temporal thick thigh
thin thoracic thorax thyroid tibia tissue toe tof topogram trace tra trans transverse tse tumor tumour
ulna upper urogram uterus vascular vein veins venous vertebra view volume vol w wo with without wrist
x xr xray
`
    .split(/\s+/)
    .filter((w) => w.length > 0),
);

/** Short technical tokens: 5, 1.25, 5mm, 120kV, 0.625mm, T1, T2w, B30f, FC03, 3D. */
const TECHNICAL = [
  /^\d{1,3}([.,]\d{1,3})?(mm|cm|ml|mg|kv|kvp|mas|ms|s|t|deg|%|x|d)?$/i,
  /^[a-z]{1,2}\d{1,3}[a-z]{0,2}$/i,
];

const isSafeWord = (w: string): boolean =>
  VOCABULARY.has(w.toLowerCase()) || TECHNICAL.some((re) => re.test(w));

/**
 * Cleans one text value. `identifying` are words to drop even when otherwise safe (parts of the
 * patient's name and id, lower case).
 */
export function cleanText(text: string, identifying: ReadonlySet<string> = new Set()): string {
  // Words are runs of ASCII letters, digits, '.', '%'; everything else separates them.
  const parts = text.split(/([^A-Za-z0-9.%]+)/);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? '';
    if (i % 2 === 1) {
      // A separator: keep one ASCII punctuation character from it (or a space).
      const sep = p.replace(/[^ /\-_+(),:]/g, '');
      out.push(sep.length > 0 ? (sep.includes(' ') ? ' ' : sep[0]!) : ' ');
      continue;
    }
    const word = p.replace(/^\.+|\.+$/g, '');
    out.push(word.length > 0 && isSafeWord(word) && !identifying.has(word.toLowerCase()) ? word : '');
  }
  // Collapse what dropping words left behind: runs of separators, separators at the ends.
  return out
    .join('')
    .replace(/([ /\-_+(),:])[ /\-_+(),:]+/g, '$1')
    .replace(/^[ /\-_+(),:]+|[ /\-_+(),:]+$/g, '')
    .replace(/\(\)/g, '');
}

/** The words of names and ids to refuse in cleaned text (lower case, 2+ characters). */
export function identifyingWords(values: readonly string[]): Set<string> {
  const words = new Set<string>();
  for (const v of values) {
    for (const w of v.split(/[^A-Za-z0-9]+/)) if (w.length >= 2) words.add(w.toLowerCase());
  }
  return words;
}
