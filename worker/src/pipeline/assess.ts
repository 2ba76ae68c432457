import type { FindingBox, InstancePrediction, ModelIdentity, ModelMetadata } from '@medimg/common';

/**
 * Which findings are critical is decided here, in the worker, by per-label thresholds from
 * configuration (DESIGN D5), never in the model. Series-level decision for multi-image series
 * (CT, MR): the maximum over the series' images, with the image that carries it.
 */
export type CriticalThresholds = Readonly<Record<string, number>>;

export interface ScoredInstance {
  readonly sop: string;
  readonly instanceNumber?: number;
  readonly prediction: InstancePrediction;
}

export interface SeriesFinding {
  readonly label: string;
  readonly score: number;
  readonly threshold?: number;
  readonly critical: boolean;
  /** The image with the highest score, and its 1-based position in the series ordered by Instance Number. */
  readonly sop: string;
  readonly instanceNumber?: number;
  readonly position: number;
  readonly imagesInSeries: number;
  readonly box?: FindingBox;
}

export interface SeriesAssessment {
  readonly series: string;
  readonly findings: readonly SeriesFinding[];
}

export function orderSeries(instances: readonly ScoredInstance[]): ScoredInstance[] {
  return [...instances].sort(
    (a, b) =>
      (a.instanceNumber ?? Number.MAX_SAFE_INTEGER) - (b.instanceNumber ?? Number.MAX_SAFE_INTEGER) ||
      a.sop.localeCompare(b.sop),
  );
}

/** One finding per label the model scored: the series maximum, critical when at or above its threshold. */
export function assessSeries(
  series: string,
  instances: readonly ScoredInstance[],
  thresholds: CriticalThresholds,
): SeriesAssessment {
  const ordered = orderSeries(instances);
  const best = new Map<string, { score: number; index: number; box?: FindingBox }>();
  ordered.forEach((instance, index) => {
    for (const [label, score] of Object.entries(instance.prediction.scores)) {
      const current = best.get(label);
      if (!current || score > current.score) {
        const box = instance.prediction.findings.find((f) => f.label === label)?.box;
        best.set(label, { score, index, box });
      }
    }
  });
  const findings = [...best.entries()]
    .map(([label, { score, index, box }]): SeriesFinding => {
      const instance = ordered[index]!;
      const threshold = thresholds[label];
      return {
        label,
        score,
        threshold,
        critical: threshold !== undefined && score >= threshold,
        sop: instance.sop,
        instanceNumber: instance.instanceNumber,
        position: index + 1,
        imagesInSeries: ordered.length,
        ...(box ? { box } : {}),
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
  return { series, findings };
}

export interface CriticalFinding extends SeriesFinding {
  readonly study: string;
  readonly series: string;
  readonly model: ModelIdentity;
  /** The model's own statement of use and measured performance, for the notification. */
  readonly decisionSupport?: Pick<ModelMetadata, 'intendedUse' | 'performance' | 'kind' | 'scope'>;
}

/** The study's critical findings: per label, the highest-scoring critical series. */
export function criticalFindingsOfStudy(
  study: string,
  assessments: readonly SeriesAssessment[],
  model: ModelIdentity,
  metadata?: ModelMetadata,
): CriticalFinding[] {
  const decisionSupport = metadata
    ? {
        intendedUse: metadata.intendedUse,
        performance: metadata.performance,
        kind: metadata.kind,
        scope: metadata.scope,
      }
    : undefined;
  const byLabel = new Map<string, CriticalFinding>();
  for (const a of assessments) {
    for (const f of a.findings) {
      if (!f.critical) continue;
      const current = byLabel.get(f.label);
      if (!current || f.score > current.score)
        byLabel.set(f.label, {
          ...f,
          study,
          series: a.series,
          model,
          ...(decisionSupport ? { decisionSupport } : {}),
        });
    }
  }
  return [...byLabel.values()].sort((a, b) => a.label.localeCompare(b.label));
}
