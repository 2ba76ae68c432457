/**
 * What a person reads about the model next to its findings, in the email and in the reports: its
 * intended use, its measured false alarm rate and that it is decision support. Model metadata
 * only, never patient data.
 */
import type { ModelMetadata } from '@medimg/common';

/** As results.json records it for each study. */
export interface DecisionSupport {
  readonly statement: string;
  readonly kind: ModelMetadata['kind'];
  readonly intendedUse: string;
  /** The scope rules' descriptions. */
  readonly scope: readonly string[];
  readonly falseAlarmsPer100Studies: ModelMetadata['performance']['falseAlarmsPer100Studies'];
  readonly syntheticSensitivity: number;
}

export function decisionSupportStatement(kind: ModelMetadata['kind']): string {
  return `Decision support from a ${kind === 'site' ? 'site' : 'reference'} model: not a diagnosis and not a medical device.`;
}

export function decisionSupportOf(m: ModelMetadata): DecisionSupport {
  return {
    statement: decisionSupportStatement(m.kind),
    kind: m.kind,
    intendedUse: m.intendedUse,
    scope: m.scope.rules.map((r) => r.description),
    falseAlarmsPer100Studies: m.performance.falseAlarmsPer100Studies,
    syntheticSensitivity: m.performance.syntheticSensitivity,
  };
}

/** One decimal at most: 97.5, 5, 0. */
export const pct = (n: number): string => (Math.round(n * 10) / 10).toString();

/** The measured false alarm rate in words: "0 per 100 in-scope real studies", "95 % CI 0 to 97.5", "1 evaluation study; ...". */
export function falseAlarmText(far: DecisionSupport['falseAlarmsPer100Studies']): {
  readonly rate: string;
  readonly interval: string;
  readonly basis: string;
} {
  return {
    rate: `${pct(far.value)} per 100 in-scope real studies`,
    interval: `95 % CI ${pct(far.ci95[0])} to ${pct(far.ci95[1])}`,
    basis: `${far.studies} evaluation ${far.studies === 1 ? 'study' : 'studies'}; threshold chosen for at most ${pct(far.target)} per 100`,
  };
}
