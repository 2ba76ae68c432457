/**
 * The job's metrics, as CloudWatch Embedded Metric Format records (common/src/metrics.ts): derived
 * from the job record alone, so they say exactly what the record says. Dimensions come from closed
 * vocabularies (Service, Step, Reason): never an id, a key or a header value.
 */
import type { EmfRecord, MetricValue } from '@medimg/common';
import { type JobStatus, STEP_NAMES } from './status.ts';

const WORKER = { Service: 'worker' } as const;
const count = (name: string, value: number): MetricValue => ({ name, value, unit: 'Count' });
const ms = (name: string, value: number): MetricValue => ({
  name,
  value: Math.round(value),
  unit: 'Milliseconds',
});

export function jobMetrics(status: JobStatus, jobDurationMs: number): EmfRecord[] {
  const properties = { jobId: status.jobId, attempt: status.attempt };
  const studies = status.findings.studies;
  const withoutInference = studies > 0 && status.inference.state !== 'succeeded' ? 1 : 0;
  const records: EmfRecord[] = [
    {
      dimensions: WORKER,
      properties,
      metrics: [
        count('FilesProcessed', status.counts.processed),
        count('FilesQuarantined', status.counts.quarantined),
        count('FilesFailed', status.counts.failed),
        count('CriticalFindings', status.findings.critical),
        count('JobsFailed', status.state === 'failed' ? 1 : 0),
        count('JobsWithoutInference', withoutInference),
        count('NotificationsFailed', status.notifications.failed),
        ms('JobDuration', jobDurationMs),
      ],
    },
  ];
  const reasons = new Map<string, number>();
  for (const f of status.files) if (f.reason) reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
  for (const [reason, n] of reasons) {
    records.push({
      dimensions: { ...WORKER, Reason: reason },
      properties,
      metrics: [count('FilesQuarantined', n)],
    });
  }
  for (const step of STEP_NAMES) {
    const s = status.steps[step];
    if (s.state === 'pending' || s.state === 'skipped') continue;
    records.push({
      dimensions: { ...WORKER, Step: step },
      properties,
      metrics: [ms('StepDuration', s.durationMs)],
    });
  }
  return records;
}

/** One inference request's latency, and the throttled attempts (endpoint capacity below demand). */
export const inferenceLatency = (latencyMs: number): EmfRecord => ({
  dimensions: WORKER,
  metrics: [ms('InferenceLatency', latencyMs)],
});
export const inferenceThrottled = (): EmfRecord => ({
  dimensions: WORKER,
  metrics: [count('InferenceThrottles', 1)],
});
