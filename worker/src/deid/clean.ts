/**
 * "Clean" (action C) for free text: descriptors (Clean Descriptors Option), free text inside
 * cleaned sequences (Clean Structured Content / Graphics), retained free-text patient
 * characteristics and code meanings.
 *
 * We cannot prove free text is free of identifiers, so cleaning is an allow-list, and it keeps or
 * loses WHOLE VALUES, never words: a value is kept, unchanged, only when every one of its words is
 * on the imaging vocabulary below (English, French and German: anatomy, modality, technique,
 * orientation, contrast and its negations) or is a short technical token (a number of at most 3
 * digits with an optional unit, "T1", "B30f", "3D"); otherwise the whole value goes. Dropping
 * single words would change meaning: "CT THORAX SANS INJECTION" without "SANS" reads as a
 * contrast-enhanced study; "CT CHEST for Dr Max Field" minus the unknown words keeps "Max Field".
 * Words equal to a part of the patient's name or id never pass, even when in the vocabulary.
 */

const VOCABULARY_TEXT = `
abd abdomen abdominal ac acq acquisition adc add adrenal ankle ant anterior aorta aortic ap apex appendix
arch arm arterial artery arteries ax axial axis b0 bilat bilateral biliary bladder blood bone bones bowel
brain breast bw calf cardiac carotid cerebral cervical chest cine circle cirs colon cor coronal
contrast cranial cspine csf ct cta ctp curved delay delayed dense detail diffusion dist distal dixon
dorsal dose dual duodenum dwi dynamic early echo elbow enhanced eq equilibrium esophagus exam ext
extremity face fast fat fatsat fe femur fibula fiesta fl flair flow fluoro foot forearm fossa
frontal fs fse full gated gd gado gadolinium gre hand haste head heart hepatic hip hips humerus ileum
iliac image images inf inferior initial injection inspiration expiration internal iv jaw joint kidney
kidneys knee kub lat lateral left leg limb liver loc localizer localiser low lower lspine lumbar lung
lungs mammo mammogram mandible map mask mip mpr mprage mr mra mri mrcp multi multiphase native neck
neuro no non oblique orbit orbits obl pa pancreas parasagittal pelvis pelvic perfusion pet phase plain
plus portal post posterior pre prone prostate pulmonary radius range recon reconstruction reformat
rectum renal resp right rib ribs routine sag sagittal scan scanogram scout se series shoulder sinus
sinuses skull slab slice soft spine spin spleen standard std stir stomach sup superior supine survey
swi tspine temporal thick thigh thin thoracic thorax thyroid tibia tissue toe tof topogram trace tra
trans transverse tse tumor tumour ulna upper urogram uterus vascular vein veins venous vertebra view
volume vol wo with without wrist xr xray of and lobe structure whole body contrastless unenhanced
abdo pelv pelvis cervic sternum clavicle scapula sacrum coccyx skull facial sinus dental teeth
medial mid l r c w x t o
helical spiral doppler duplex color colour comp complete limited views ecg ekg carotids us dx cr mg nm
angiography angiogram venogram arteriogram cholangiography enterography colonography urography
screening diagnostic bilateral unilateral followup follow up baseline stress rest gated ungated
min sec hr bpm mas kvp kernel smooth bone lung mediastinal window level
`;

/** French imaging terms: anatomy, technique and the negations and contrast words. */
const VOCABULARY_FR = `
sans avec injection contraste produit de du des la le les et en au aux coupe coupes tdm
thorax thoracique abdomen abdominal abdominale abdomino pelvien pelvienne bassin crâne crane cérébral
cérébrale cerebral encéphale encephale tête tete cou cervical cervicale rachis lombaire dorsal dorsale
poumon poumons pulmonaire foie rein reins rénal renale vessie genou hanche épaule epaule cheville
poignet main pied coude jambe bras sein seins mammographie os osseux osseuse cœur coeur cardiaque
sinus orbites massif facial artériel arterielle artériel artérielle veineux veineuse portal
temps tardif précoce precoce natif native phase axial axiale coronal coronale sagittal sagittale
droit droite gauche bilatéral bilateral bilatérale face profil radio radiographie scanner irm
angio angioscanner angiographie écho echo échographie echographie repérage reperage topogramme
`;

/** German imaging terms: anatomy, technique and the negations and contrast words. */
const VOCABULARY_DE = `
ohne mit nativ kontrastmittel km kontrast und der die das des von im
schädel schaedel kopf hals thorax lunge lungen abdomen becken wirbelsäule wirbelsaeule hws bws lws
knie hüfte huefte schulter sprunggelenk handgelenk hand fuss fuß ellenbogen brust mamma herz leber
niere nieren blase gefäße gefaesse arteriell venös venoes portalvenös spät früh axial koronar
sagittal rechts links beidseits beidseitig aufnahme übersicht uebersicht serie schicht schichten
dünnschicht duennschicht angio angiographie sonographie röntgen roentgen ct mrt knochen weichteil
`;

const VOCABULARY = new Set(
  [VOCABULARY_TEXT, VOCABULARY_FR, VOCABULARY_DE]
    .join(' ')
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => w.normalize('NFC').toLowerCase()),
);

/** Short technical tokens: 5, 1.25, 5mm, 120kV, 0.625mm, T1, T2w, B30f, FC03, 3D. */
const TECHNICAL = [
  /^\d{1,3}([.,]\d{1,3})?(mm|cm|ml|mg|kv|kvp|mas|ms|s|t|deg|%|x|d)?$/i,
  /^[a-z]{1,2}\d{1,3}[a-z]{0,2}$/i,
];

const isSafeWord = (w: string): boolean =>
  VOCABULARY.has(w.normalize('NFC').toLowerCase()) || TECHNICAL.some((re) => re.test(w));

/** Words: runs of letters (any script), digits, '.', '%' and ','; everything else separates them. */
const WORDS = /[\p{L}\p{M}\p{N}.,%]+/gu;
/** Separators a descriptor may contain; anything else (e.g. '@', '#', control characters) fails. */
const SEPARATORS = /^[\s/\-_+():;'"*&[\]=<>^\\|]*$/u;

/**
 * One text value, kept whole or refused: returns the value (trimmed) when every word is safe and
 * not identifying, else ''. `identifying` are words to refuse even when otherwise safe (parts of
 * the patient's name and id, lower case).
 */
export function cleanText(text: string, identifying: ReadonlySet<string> = new Set()): string {
  const value = text.trim();
  if (value === '') return '';
  const words = value.match(WORDS) ?? [];
  if (!SEPARATORS.test(value.replace(WORDS, ''))) return '';
  for (const raw of words) {
    const word = raw.replace(/^[.,]+|[.,]+$/g, '');
    if (word === '') continue;
    if (!isSafeWord(word) || identifying.has(word.toLowerCase())) return '';
  }
  return words.length > 0 ? value : '';
}

/** The words of names and ids to refuse in cleaned text (lower case, 2+ characters). */
export function identifyingWords(values: readonly string[]): Set<string> {
  const words = new Set<string>();
  for (const v of values) {
    for (const w of v.split(/[^\p{L}\p{N}]+/u)) if (w.length >= 2) words.add(w.toLowerCase());
  }
  return words;
}
