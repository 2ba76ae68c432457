import {
  checkScope,
  type InstanceAttributes,
  type ModelScope,
  type ScopeRule,
} from '@medimg/common/inference.ts';

/**
 * Attributes of an image squarely inside a scope rule (first listed modality, SOP class, body part and
 * photometric interpretation; mid-range spacing and field of view): for tests and for calling a local
 * server by hand. Throws when the rule admits no such image.
 */
export function attributesInside(rule: ScopeRule): InstanceAttributes {
  const spacing = (rule.pixelSpacingMm.min + rule.pixelSpacingMm.max) / 2;
  const fov = (rule.fieldOfViewMm.min + rule.fieldOfViewMm.max) / 2;
  const size = Math.min(rule.sizePx.max, Math.max(rule.sizePx.min, Math.round(fov / spacing)));
  const attributes: InstanceAttributes = {
    modality: rule.modalities[0]!,
    sopClass: rule.sopClasses[0]!,
    ...(rule.bodyParts[0] ? { bodyPart: rule.bodyParts[0] } : {}),
    photometric: rule.photometric[0]!,
    rows: size,
    columns: size,
    pixelSpacingMm: [spacing, spacing],
  };
  const verdict = checkScope({ rules: [rule] }, attributes);
  if (!verdict.inScope)
    throw new Error(`scope rule ${rule.name} admits no image: ${verdict.reasons.join(', ')}`);
  return attributes;
}

/** The rule of `scope` named `name`, or an error. */
export function ruleNamed(scope: ModelScope, name: string): ScopeRule {
  const rule = scope.rules.find((r) => r.name === name);
  if (!rule) throw new Error(`no scope rule ${name}`);
  return rule;
}
