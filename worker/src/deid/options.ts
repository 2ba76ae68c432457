/**
 * Options of the de-identification (PS3.15 E.3 profile options) and the burned-in text policy.
 *
 * Default, chosen for AI work (DESIGN.md D3):
 *   - Retain Patient Characteristics (sex, age, size, weight ... stay: models need them)
 *   - Retain Longitudinal Temporal Information with Modified Dates (every DA/DT shifted by one
 *     per-patient offset, so intervals between studies and series survive; TM values are kept)
 *   - Retain Device Identity (manufacturer, model, serial number, station: scanner effects matter)
 *   - Clean Descriptors (series/study/protocol descriptions keep only known-safe words)
 *   - everything else off: UIDs replaced, institution removed, private tags removed,
 *     burned-in text -> quarantine.
 */
import { z } from 'zod';

/** A rectangle of an image, in pixels, top-left origin. */
export interface BlankRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const blankRegionSchema = z.object({
  x: z.number().int().nonnegative(),
  y: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

/**
 * Regions to blank for images of one modality (and optionally one size). The first rule that
 * matches an image wins; `rows`/`columns` absent match any size.
 */
const blankRuleSchema = z.object({
  modality: z.string().min(1).max(16),
  rows: z.number().int().positive().optional(),
  columns: z.number().int().positive().optional(),
  regions: z.array(blankRegionSchema).min(1),
});
export type BlankRule = z.infer<typeof blankRuleSchema>;

/**
 * A private data element known to be safe (Retain Safe Private Option): group (odd), the private
 * creator that reserves the block, and the element's offset inside the block (the low byte,
 * 0x00-0xFF), e.g. { group: 0x0019, creator: 'GEMS_ACQU_01', offset: 0x23 } for (0019,xx23).
 */
const safePrivateTagSchema = z.object({
  group: z
    .number()
    .int()
    .min(0x0009)
    .max(0xffff)
    .refine((g) => g % 2 === 1, 'private groups are odd'),
  creator: z.string().min(1).max(64),
  offset: z.number().int().min(0).max(0xff),
});
export type SafePrivateTag = z.infer<typeof safePrivateTagSchema>;

export const DEFAULT_BURNED_IN_MODALITIES = ['US', 'SC', 'XC', 'ES'] as const;

export const deidOptionsSchema = z.object({
  /** Retain Safe Private Option (113111): keep the private elements listed in `safePrivateTags`. */
  retainSafePrivate: z.boolean().default(false),
  /** Retain UIDs Option (113110). */
  retainUids: z.boolean().default(false),
  /** Retain Device Identity Option (113109). */
  retainDeviceIdentity: z.boolean().default(true),
  /** Retain Institution Identity Option (113112). */
  retainInstitutionIdentity: z.boolean().default(false),
  /** Retain Patient Characteristics Option (113108). */
  retainPatientCharacteristics: z.boolean().default(true),
  /**
   * Retain Longitudinal Temporal Information: 'full' (113106) keeps dates, 'modified' (113107)
   * shifts them per patient, 'off' applies the basic profile to them.
   */
  retainLongitudinal: z.enum(['off', 'full', 'modified']).default('modified'),
  /** Largest date shift in days for 'modified' (shifts are -1 .. -maxDateShiftDays). */
  maxDateShiftDays: z.number().int().min(1).max(36500).default(3650),
  /**
   * HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)): Patient's Age over 89 is written as 090Y,
   * one category for "90 or older". On in the safe-harbor profile.
   */
  aggregateAgesOver89: z.boolean().default(false),
  /** Clean Descriptors Option (113105). */
  cleanDescriptors: z.boolean().default(true),
  /** Clean Structured Content Option (113104). */
  cleanStructuredContent: z.boolean().default(false),
  /** Clean Graphics Option (113103). */
  cleanGraphics: z.boolean().default(false),
  /** What to do with images that may carry burned-in text. */
  burnedInPolicy: z.enum(['quarantine', 'blank']).default('quarantine'),
  /** Modalities treated as carrying burned-in text even when BurnedInAnnotation is not YES. */
  burnedInModalities: z.array(z.string().min(1).max(16)).default([...DEFAULT_BURNED_IN_MODALITIES]),
  /** Regions blanked under burnedInPolicy 'blank'. */
  blankRegions: z.array(blankRuleSchema).default([]),
  /** Safe private elements, used when retainSafePrivate is on. */
  safePrivateTags: z.array(safePrivateTagSchema).default([]),
});

export type DeidOptions = z.infer<typeof deidOptionsSchema>;
export type DeidOptionsInput = z.input<typeof deidOptionsSchema>;

/** Validates options (throws a ZodError naming the bad field) and fills in the defaults. */
export const parseDeidOptions = (input: unknown = {}): DeidOptions => deidOptionsSchema.parse(input);

export const DEFAULT_DEID_OPTIONS: DeidOptions = Object.freeze(parseDeidOptions({}));

/** Every retain/clean option off: the Basic Profile alone. */
export const BASIC_PROFILE_OPTIONS: DeidOptions = Object.freeze(
  parseDeidOptions({
    retainDeviceIdentity: false,
    retainPatientCharacteristics: false,
    retainLongitudinal: 'off',
    cleanDescriptors: false,
  }),
);

/**
 * Named profiles (docs/deidentification.md says which options each uses and why):
 *   - 'research' (default): the defaults above, for AI work on de-identified data under a data
 *     use agreement: device identity, patient characteristics and shifted dates kept.
 *   - 'safe-harbor': HIPAA Safe Harbor leaning: no device identity (serial numbers, station names
 *     and the safe list's device entries are removed), ages over 89 aggregated to 90+.
 */
export const DEID_PROFILES = ['research', 'safe-harbor'] as const;
export type DeidProfile = (typeof DEID_PROFILES)[number];

export const PROFILE_OPTIONS: Readonly<Record<DeidProfile, DeidOptionsInput>> = {
  research: {},
  'safe-harbor': { retainDeviceIdentity: false, aggregateAgesOver89: true },
};

export const isDeidProfile = (v: string): v is DeidProfile =>
  (DEID_PROFILES as readonly string[]).includes(v);

/** The options of a profile, with overrides (e.g. the burned-in policy) on top; validated. */
export function profileOptions(profile: DeidProfile, overrides: DeidOptionsInput = {}): DeidOptions {
  return parseDeidOptions({ ...PROFILE_OPTIONS[profile], ...overrides });
}
