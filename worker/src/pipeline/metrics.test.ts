import { formatEmf } from '@medimg/common';
import { describe, expect, it } from 'vitest';
import { jobMetrics } from './metrics.ts';
import { newJobStatus } from './status.ts';

function finishedJob() {
  const status = newJobStatus('job-0123456789abcdef01234567', 'b-1', 3, new Date(0), 2);
  status.state = 'completed_with_quarantine';
  status.counts = { inputs: 3, processed: 2, quarantined: 1, failed: 0 };
  status.files = [
    { index: 0, inputId: 'in-a', status: 'processed' },
    { index: 1, inputId: 'in-b', status: 'processed' },
    { index: 2, inputId: 'in-c', status: 'quarantined', reason: 'BURNED_IN_ANNOTATION', step: 'deidentify' },
  ];
  status.findings = { critical: 1, studies: 1, series: 1 };
  status.inference.state = 'failed';
  status.steps.fetch = { state: 'succeeded', ok: 3, failed: 0, durationMs: 12.4 };
  return status;
}

describe('the job metrics', () => {
  it('count files, quarantines by reason, findings and a job finished without inference', () => {
    const records = jobMetrics(finishedJob(), 4321.6);
    const totals = records[0];
    expect(totals?.dimensions).toEqual({ Service: 'worker' });
    const values = Object.fromEntries(totals?.metrics.map((m) => [m.name, m.value]) ?? []);
    expect(values).toEqual(
      expect.objectContaining({
        FilesProcessed: 2,
        FilesQuarantined: 1,
        FilesFailed: 0,
        CriticalFindings: 1,
        JobsWithoutInference: 1,
        JobDuration: 4322,
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        dimensions: { Service: 'worker', Reason: 'BURNED_IN_ANNOTATION' },
        metrics: [{ name: 'FilesQuarantined', value: 1, unit: 'Count' }],
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        dimensions: { Service: 'worker', Step: 'fetch' },
        metrics: [{ name: 'StepDuration', value: 12, unit: 'Milliseconds' }],
      }),
    );
  });

  it('are written as CloudWatch Embedded Metric Format lines', () => {
    const line = formatEmf(jobMetrics(finishedJob(), 10)[0]!, new Date(1_000));
    const parsed = JSON.parse(line);
    expect(parsed._aws).toEqual({
      Timestamp: 1000,
      CloudWatchMetrics: [
        {
          Namespace: 'Medimg/Pipeline',
          Dimensions: [['Service']],
          Metrics: expect.arrayContaining([{ Name: 'FilesProcessed', Unit: 'Count' }]),
        },
      ],
    });
    expect(parsed).toEqual(expect.objectContaining({ Service: 'worker', FilesProcessed: 2, attempt: 2 }));
  });

  it('refuse a dimension value that could carry free text', () => {
    expect(() => formatEmf({ dimensions: { Reason: 'Doe^John' }, metrics: [] }, new Date(0))).toThrow(
      /unsafe/,
    );
  });
});
