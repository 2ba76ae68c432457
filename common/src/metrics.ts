/**
 * CloudWatch Embedded Metric Format (EMF): a JSON log line that CloudWatch Logs turns into metrics
 * (no API call, no permission, no agent). The format is a small documented JSON shape
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
 * so it is written here rather than through a client library that would also detect environments
 * and agents this project does not use. Dimension values must come from closed vocabularies
 * (reason codes, step names): never a key, a UID or anything from a DICOM header.
 */

/** The namespace of every metric the pipeline emits (infra alarms read it). */
export const METRICS_NAMESPACE = 'Medimg/Pipeline';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'None';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  readonly unit: MetricUnit;
}

export interface EmfRecord {
  /** Dimension name -> value; one dimension set per record (may be empty). */
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly metrics: readonly MetricValue[];
  /** Extra fields kept in the log line only (ids for correlation, not metrics). */
  readonly properties?: Readonly<Record<string, string | number>>;
}

const DIMENSION_VALUE = /^[A-Za-z0-9_.:-]{1,250}$/;

/** One EMF log line. Throws on a dimension value outside the safe alphabet (a bug, not data). */
export function formatEmf(record: EmfRecord, now: Date, namespace = METRICS_NAMESPACE): string {
  const dimensions = record.dimensions ?? {};
  for (const [name, value] of Object.entries(dimensions)) {
    if (!DIMENSION_VALUE.test(value)) throw new Error(`metric dimension ${name} has an unsafe value`);
  }
  const values: Record<string, number> = {};
  for (const m of record.metrics) values[m.name] = m.value;
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: record.metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    ...record.properties,
    ...dimensions,
    ...values,
  });
}

/** Where metrics go: stdout in production (the log driver ships it), a list in tests. */
export interface MetricsSink {
  emit(record: EmfRecord): void;
}

export function emfSink(write: (line: string) => void, clock: () => Date = () => new Date()): MetricsSink {
  return { emit: (record) => write(formatEmf(record, clock())) };
}

export const noMetrics: MetricsSink = { emit: () => {} };
