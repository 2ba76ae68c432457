/**
 * The inference contract between the worker and the model endpoint (DESIGN D5).
 * See models/README.md for the prose version; this file is the single source of truth for both sides:
 * the model server validates requests with `InferenceRequestSchema`, the worker's SageMaker adapter
 * validates answers with `InferenceResponseSchema`.
 */
import { z } from 'zod';

/** Model input: 8-bit greyscale PNG, MODEL_INPUT_SIZE x MODEL_INPUT_SIZE (model-input.ts). */
export { MODEL_INPUT_SIZE } from './model-input.ts';

/** SageMaker payload limits (bytes): real-time endpoints 6 MB, serverless 4 MB. */
export const PAYLOAD_LIMIT_REALTIME = 6 * 1024 * 1024;
export const PAYLOAD_LIMIT_SERVERLESS = 4 * 1024 * 1024;

export const INFERENCE_CONTENT_TYPE = 'application/json';

export interface InferenceInstance {
  /** Opaque id chosen by the caller (a de-identified SOP Instance UID, or an index). */
  readonly id: string;
  /** Base64 of the model-input PNG. */
  readonly data: string;
  /** The image's scope attributes; the container refuses an instance without them or out of scope (422). */
  readonly attributes?: InstanceAttributes;
}

export interface InferenceRequest {
  readonly instances: readonly InferenceInstance[];
}

/** A box in model-input coordinates normalised to [0, 1]: x, y of the top-left corner, width, height. */
export interface FindingBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface ModelFinding {
  readonly label: string;
  /** Probability in [0, 1]. */
  readonly score: number;
  readonly box?: FindingBox;
}

export interface InstancePrediction {
  readonly id: string;
  /** One score per label the model knows, whether or not it is a finding. */
  readonly scores: Readonly<Record<string, number>>;
  /** Labels scoring at or above the model's own reporting floor (not the clinical threshold). */
  readonly findings: readonly ModelFinding[];
  /** Set when the model declined to assess the image: then `scores` is empty and there are no findings. */
  readonly notAssessed?: 'OUT_OF_DISTRIBUTION';
  /** The out-of-distribution distance and the limit it was compared with (when the model has the check). */
  readonly ood?: { readonly distance: number; readonly limit: number };
}

export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
}

export interface InferenceResponse {
  readonly model: ModelIdentity;
  readonly predictions: readonly InstancePrediction[];
  readonly timing: { readonly inferenceMs: number };
}

export interface InferenceErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/* ------------------------------------------------------------------------------------------------ */
/* Declared scope (issue 17): what the model is for. The rules are data (model.json `scope`); the    */
/* worker selects series by them before inference and the container refuses what falls outside.     */
/* ------------------------------------------------------------------------------------------------ */

/** What the worker knows about an image, all from the de-identified header (never identifying). */
export interface InstanceAttributes {
  readonly modality?: string;
  readonly bodyPart?: string;
  readonly sopClass?: string;
  readonly photometric?: string;
  readonly rows?: number;
  readonly columns?: number;
  /** Pixel Spacing (or Imager Pixel Spacing), mm: row spacing, column spacing. */
  readonly pixelSpacingMm?: readonly [number, number];
}

/** One kind of image the model assesses. An image is in scope when it matches every condition of one rule. */
export interface ScopeRule {
  /** Short name of the rule (closed vocabulary of the model: e.g. `ct_chest`). */
  readonly name: string;
  /** Words a clinician reads, e.g. "CT of the chest, axial". */
  readonly description: string;
  readonly modalities: readonly string[];
  readonly sopClasses: readonly string[];
  /** Body Part Examined values accepted. */
  readonly bodyParts: readonly string[];
  /** When false, an image without Body Part Examined (type 3, often absent) is accepted on the other rules. */
  readonly bodyPartRequired: boolean;
  readonly photometric: readonly string[];
  /** Rows and Columns, each within [min, max]. */
  readonly sizePx: { readonly min: number; readonly max: number };
  /** Both pixel spacings within [min, max] mm; an image without spacing is out of scope. */
  readonly pixelSpacingMm: { readonly min: number; readonly max: number };
  /** Field of view (rows x row spacing and columns x column spacing), each within [min, max] mm. */
  readonly fieldOfViewMm: { readonly min: number; readonly max: number };
}

export interface ModelScope {
  readonly rules: readonly ScopeRule[];
}

/** Why an image is out of scope: which condition of the closest rule it fails (closed vocabulary). */
export const SCOPE_REASONS = {
  MODALITY: 'modality not assessed by the model',
  SOP_CLASS: 'SOP class not assessed by the model',
  BODY_PART: 'body part not assessed by the model',
  PHOTOMETRIC: 'photometric interpretation not assessed by the model',
  IMAGE_SIZE: 'image size outside the accepted range',
  PIXEL_SPACING: 'pixel spacing missing or outside the accepted range',
  FIELD_OF_VIEW: 'field of view outside the accepted range',
  NO_IMAGE: 'the object holds no image to assess',
} as const;
export type ScopeReason = keyof typeof SCOPE_REASONS;

export type ScopeVerdict =
  | { readonly inScope: true; readonly rule: string }
  | { readonly inScope: false; readonly reasons: readonly ScopeReason[] };

function ruleFailures(rule: ScopeRule, a: InstanceAttributes): ScopeReason[] {
  const failures: ScopeReason[] = [];
  const inRange = (v: number | undefined, r: { min: number; max: number }) =>
    v !== undefined && Number.isFinite(v) && v >= r.min && v <= r.max;
  if (!a.modality || !rule.modalities.includes(a.modality)) failures.push('MODALITY');
  if (!a.sopClass || !rule.sopClasses.includes(a.sopClass)) failures.push('SOP_CLASS');
  if (a.bodyPart ? !rule.bodyParts.includes(a.bodyPart.toUpperCase()) : rule.bodyPartRequired)
    failures.push('BODY_PART');
  if (!a.photometric || !rule.photometric.includes(a.photometric)) failures.push('PHOTOMETRIC');
  if (!inRange(a.rows, rule.sizePx) || !inRange(a.columns, rule.sizePx)) failures.push('IMAGE_SIZE');
  const [sy, sx] = a.pixelSpacingMm ?? [];
  if (!inRange(sy, rule.pixelSpacingMm) || !inRange(sx, rule.pixelSpacingMm)) failures.push('PIXEL_SPACING');
  else if (
    !inRange((a.rows ?? 0) * sy!, rule.fieldOfViewMm) ||
    !inRange((a.columns ?? 0) * sx!, rule.fieldOfViewMm)
  )
    failures.push('FIELD_OF_VIEW');
  return failures;
}

/**
 * The scope verdict for one image: in scope by the first rule it matches, else the reasons it fails the
 * closest rule (the one it fails on fewest conditions; modality mismatches rank last). Shared by the worker
 * (series selection) and the model server (refusal), so both sides apply the same data the same way.
 */
export function checkScope(scope: ModelScope, attributes: InstanceAttributes): ScopeVerdict {
  let closest: ScopeReason[] | undefined;
  for (const rule of scope.rules) {
    const failures = ruleFailures(rule, attributes);
    if (failures.length === 0) return { inScope: true, rule: rule.name };
    const rank = (f: ScopeReason[]) => f.length + (f.includes('MODALITY') ? 100 : 0);
    if (!closest || rank(failures) < rank(closest)) closest = failures;
  }
  return { inScope: false, reasons: closest ?? ['MODALITY'] };
}

/** Why a series or image was not assessed; shown to people as "not assessed (out of scope)" etc. */
export const NOT_ASSESSED = {
  OUT_OF_SCOPE: 'not assessed (out of scope)',
  OUT_OF_DISTRIBUTION: 'not assessed (out of distribution)',
} as const;
export type NotAssessedReason = keyof typeof NOT_ASSESSED;

/** What the model says about itself: served by the container (`{"metadata":true}`), recorded in the card. */
export interface ModelMetadata {
  readonly name: string;
  readonly version: string;
  readonly labels: readonly string[];
  /** Plain-words intended use, for the clinician notification and the report. */
  readonly intendedUse: string;
  readonly scope: ModelScope;
  /** Per-label critical thresholds the model was calibrated for (the worker may override by configuration). */
  readonly criticalThresholds: Readonly<Record<string, number>>;
  readonly performance: {
    /** False alarms per 100 in-scope real studies on the evaluation split, with a 95 % interval. */
    readonly falseAlarmsPer100Studies: {
      readonly value: number;
      readonly ci95: readonly [number, number];
      readonly studies: number;
      /** The target the threshold was chosen for on the calibration split. */
      readonly target: number;
    };
    /** Sensitivity on held-out synthetic lesions at the critical threshold. */
    readonly syntheticSensitivity: number;
  };
  /** Always "reference": this pipeline's model is decision support from a reference model. */
  readonly kind: 'reference' | 'site';
}

export interface MetadataRequest {
  readonly metadata: true;
}

export interface MetadataResponse {
  readonly metadata: ModelMetadata;
}

/** Longest instance id the server accepts. */
export const INSTANCE_ID_MAX = 256;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const code = () => z.string().min(1).max(64);

export const InstanceAttributesSchema: z.ZodType<InstanceAttributes> = z.object({
  modality: code().optional(),
  bodyPart: code().optional(),
  sopClass: code().optional(),
  photometric: code().optional(),
  rows: z.number().int().min(0).optional(),
  columns: z.number().int().min(0).optional(),
  pixelSpacingMm: z.tuple([z.number(), z.number()]).optional(),
});

export const InferenceInstanceSchema: z.ZodType<InferenceInstance> = z.object({
  id: z.string().min(1).max(INSTANCE_ID_MAX),
  data: z.string().regex(BASE64),
  attributes: InstanceAttributesSchema.optional(),
});

export const InferenceRequestSchema: z.ZodType<InferenceRequest> = z.object({
  instances: z.array(InferenceInstanceSchema).min(1),
});

const unit = () => z.number().min(0).max(1);

export const InferenceResponseSchema: z.ZodType<InferenceResponse> = z.object({
  model: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  predictions: z.array(
    z.object({
      id: z.string(),
      notAssessed: z.literal('OUT_OF_DISTRIBUTION').optional(),
      ood: z.object({ distance: z.number().min(0), limit: z.number().min(0) }).optional(),
      scores: z.record(z.string(), unit()),
      findings: z.array(
        z.object({
          label: z.string().min(1),
          score: unit(),
          box: z.object({ x: unit(), y: unit(), width: unit(), height: unit() }).optional(),
        }),
      ),
    }),
  ),
  timing: z.object({ inferenceMs: z.number().min(0) }),
});

const range = z.object({ min: z.number(), max: z.number() });
const codeList = z.array(code());

/** Model metadata as the container serves it (`{"metadata":true}`): scope rules, intended use, performance. */
export const ModelMetadataSchema: z.ZodType<ModelMetadata> = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  labels: z.array(z.string().min(1)).min(1),
  intendedUse: z.string().min(1).max(400),
  scope: z.object({
    rules: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z0-9_]{1,32}$/),
          description: z.string().min(1).max(80),
          modalities: codeList,
          sopClasses: z.array(z.string().regex(/^[0-9.]{1,64}$/)),
          bodyParts: codeList,
          bodyPartRequired: z.boolean(),
          photometric: codeList,
          sizePx: range,
          pixelSpacingMm: range,
          fieldOfViewMm: range,
        }),
      )
      .min(1),
  }),
  criticalThresholds: z.record(z.string(), unit()),
  performance: z.object({
    falseAlarmsPer100Studies: z.object({
      value: z.number().min(0).max(100),
      ci95: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]),
      studies: z.number().int().min(0),
      target: z.number().min(0).max(100),
    }),
    syntheticSensitivity: unit(),
  }),
  kind: z.enum(['reference', 'site']),
});

export const MetadataResponseSchema: z.ZodType<MetadataResponse> = z.object({
  metadata: ModelMetadataSchema,
});
