import { METRICS_NAMESPACE } from '@medimg/common';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmSettings } from '../config.ts';
import type { JobControl } from './job-control.ts';
import { opsAlarm } from './ops-alarm.ts';

export interface OperationsAlarmsProps {
  readonly settings: AlarmSettings;
  readonly opsTopic: sns.ITopic;
  readonly intakeQueue: sqs.IQueue;
  readonly jobControl: JobControl;
  /** Topics whose failed deliveries (email bounces, KMS refusals) are alarmed. */
  readonly topics: readonly sns.ITopic[];
  readonly dashboard: cloudwatch.Dashboard;
}

/** The pipeline's own metrics (EMF lines from the worker and the dispatcher; common/src/metrics.ts). */
export function pipelineMetric(
  service: 'worker' | 'dispatcher',
  metricName: string,
  statistic: string = cloudwatch.Stats.SUM,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { Service: service },
    statistic,
    period: Duration.minutes(5),
    ...(label ? { label } : {}),
  });
}

/**
 * The alarms that say a job is late, lost or incomplete (docs/runbook.md explains each one), and
 * their dashboard row. Each alarm and its recovery go to the operations topic.
 */
export class OperationsAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const five = Duration.minutes(5);
    const age = props.settings.queueAgeThresholdSeconds;
    const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = opsAlarm(this, props.opsTopic, alarmId, description, metric, threshold);
      this.alarms.push(a);
      return a;
    };

    const intakeAge = props.intakeQueue.metricApproximateAgeOfOldestMessage({
      period: five,
      statistic: cloudwatch.Stats.MAXIMUM,
      label: 'Oldest upload event (s)',
    });
    const dispatchAge = props.jobControl.queue.metricApproximateAgeOfOldestMessage({
      period: five,
      statistic: cloudwatch.Stats.MAXIMUM,
      label: 'Oldest waiting job (s)',
    });
    const dispatchDlq = props.jobControl.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: five,
      statistic: cloudwatch.Stats.MAXIMUM,
      label: 'Dispatch dead-letter queue depth',
    });
    alarm(
      'IntakeQueueAgeAlarm',
      `Upload events have waited ${age} s or more for the trigger`,
      intakeAge,
      age,
    );
    alarm(
      'DispatchQueueAgeAlarm',
      `A job has waited ${age} s or more for a worker task (task cap reached, or the dispatcher failing)`,
      dispatchAge,
      age,
    );
    alarm('DispatchDeadLetterAlarm', 'Dispatches or stopped-task events failed every retry', dispatchDlq, 1);
    alarm(
      'RunTaskFailuresAlarm',
      'ECS refused or failed RunTask for worker tasks',
      pipelineMetric('dispatcher', 'RunTaskFailures'),
      1,
    );
    alarm(
      'JobsDeadLetteredAlarm',
      'A job failed every attempt and was dead-lettered',
      pipelineMetric('dispatcher', 'JobsDeadLettered'),
      1,
    );
    alarm(
      'JobsWithoutInferenceAlarm',
      'A job finished with studies but no inference result (endpoint down or refusing)',
      pipelineMetric('worker', 'JobsWithoutInference'),
      1,
    );
    alarm(
      'EndpointThrottlingAlarm',
      'The anomaly endpoint throttled worker requests (capacity below the task cap)',
      pipelineMetric('worker', 'InferenceThrottles'),
      1,
    );
    for (const [i, topic] of props.topics.entries()) {
      alarm(
        `NotificationDeliveryFailuresAlarm${i + 1}`,
        `SNS failed to deliver notifications of ${i === 0 ? 'the findings topic' : 'the operations topic'}`,
        topic.metricNumberOfNotificationsFailed({ period: five, statistic: cloudwatch.Stats.SUM }),
        1,
      );
    }

    props.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Jobs: alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Jobs',
        left: [
          pipelineMetric('dispatcher', 'TasksStarted', cloudwatch.Stats.SUM, 'Tasks started'),
          pipelineMetric('dispatcher', 'TaskRetries', cloudwatch.Stats.SUM, 'Retries'),
          pipelineMetric('dispatcher', 'JobsDeferred', cloudwatch.Stats.SUM, 'Deferred at the cap'),
          pipelineMetric('dispatcher', 'TasksTimedOut', cloudwatch.Stats.SUM, 'Stopped at the time limit'),
          pipelineMetric('dispatcher', 'JobsDeadLettered', cloudwatch.Stats.SUM, 'Dead-lettered'),
        ],
        right: [intakeAge, dispatchAge],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Files and findings',
        left: [
          pipelineMetric('worker', 'FilesProcessed', cloudwatch.Stats.SUM, 'Processed'),
          pipelineMetric('worker', 'FilesQuarantined', cloudwatch.Stats.SUM, 'Quarantined'),
          pipelineMetric('worker', 'FilesFailed', cloudwatch.Stats.SUM, 'Failed'),
          pipelineMetric('worker', 'CriticalFindings', cloudwatch.Stats.SUM, 'Critical findings'),
        ],
        right: [
          pipelineMetric('worker', 'JobDuration', cloudwatch.Stats.p(90), 'Job duration p90 (ms)'),
          pipelineMetric('worker', 'InferenceLatency', cloudwatch.Stats.p(90), 'Inference latency p90 (ms)'),
        ],
        width: 12,
      }),
    );
  }
}
