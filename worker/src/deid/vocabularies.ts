/**
 * Closed vocabularies from the DICOM standard, for values that are shown to a person (emails,
 * results.json) and for code-string attributes whose values the standard defines. A value outside
 * them is never shown: it is "unspecified" in a message and removed from the de-identified object.
 */

/**
 * Body Part Examined (0018,0015) defined terms, PS3.16 Annex L ("Correspondence of Anatomic Region
 * Codes and Body Part Examined Defined Terms").
 */
export const BODY_PART_TERMS: readonly string[] = `
ABDOMEN ABDOMENPELVIS ADRENAL ANKLE AORTA APPENDIX ARM AXILLA BACK BILEDUCT BLADDER BRAIN BREAST
BRONCHUS BUTTOCK CALCANEUS CALF CAROTID CEREBELLUM CERVIX CHEEK CHEST CHESTABDOMEN CHESTABDPELVIS
CIRCLEOFWILLIS CLAVICLE COCCYX COLON CORNEA CORONARYARTERY CSPINE CTSPINE DUODENUM EAR ELBOW
ESOPHAGUS EXTREMITY EYE EYELID FACE FEMUR FINGER FOOT FOREARM GALLBLADDER HAND HEAD HEADNECK HEART
HIP HUMERUS IAC ILEUM ILIUM JAW JEJUNUM KIDNEY KNEE LARYNX LEG LIVER LOWERLIMB LSPINE LSSPINE LUNG
MAXILLA MEDIASTINUM MOUTH NECK NECKCHEST NECKCHESTABDOMEN NECKCHESTABDPELV NOSE ORBIT OVARY PANCREAS
PAROTID PATELLA PELVIS PENIS PHARYNX PROSTATE RADIUS RADIUSULNA RECTUM RIB SACRUM SCALP SCAPULA
SCLERA SCROTUM SHOULDER SKULL SPINE SPLEEN SSPINE STERNUM STOMACH SUBMANDIBULAR TESTIS THIGH THUMB
THYMUS THYROID TIBIA TIBIAFIBULA TLSPINE TMJ TOE TONGUE TRACHEA TSPINE ULNA UPPERLIMB URETER URETHRA
UTERUS VAGINA VULVA WHOLEBODY WRIST ZYGOMA
`
  .split(/\s+/)
  .filter((t) => t.length > 0);

/** Modality (0008,0060) defined terms, PS3.3 C.7.3.1.1.1 (current and retired). */
export const MODALITY_TERMS: readonly string[] = `
AR ASMT AU BDUS BI BMD CR CT CTPROTOCOL DG DMS DOC DX ECG EEG EMG EOG EPS ES FID GM HC HD IO IOL IVOCT
IVUS KER KO LEN LS MG MR M3D NM OAM OCT OP OPM OPT OPTBSV OPTENF OPV OSS OT PLAN POS PR PT PX REG
RESP RF RG RTDOSE RTIMAGE RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN RTSTRUCT RWV SEG SM SMR SR SRF STAIN
TEXTUREMAP TG US VA XA XAPROTOCOL XC
`
  .split(/\s+/)
  .filter((t) => t.length > 0);

const BODY_PARTS = new Set(BODY_PART_TERMS);
const MODALITIES = new Set(MODALITY_TERMS);

/** The defined term, or undefined when the value is not one (whitespace trimmed, case kept). */
export const bodyPartTerm = (value: string | undefined): string | undefined =>
  value !== undefined && BODY_PARTS.has(value.trim()) ? value.trim() : undefined;

export const modalityTerm = (value: string | undefined): string | undefined =>
  value !== undefined && MODALITIES.has(value.trim()) ? value.trim() : undefined;
