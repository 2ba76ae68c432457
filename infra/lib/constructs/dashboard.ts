import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineMetrics } from './metrics.ts';
import type { Worker } from './worker.ts';

export interface DashboardProps {
  readonly dashboardName: string;
  readonly alarms: cloudwatch.IAlarm[];
  readonly metrics: PipelineMetrics;
  readonly queue: sqs.IQueue;
  readonly trigger: lambda.IFunction;
  readonly worker: Worker;
}

/** The operations dashboard: alarm states, intake, trigger, worker tasks, endpoint, worker error codes. */
export function createDashboard(scope: Construct, props: DashboardProps): cloudwatch.Dashboard {
  const fiveMinutes = Duration.minutes(5);
  const {
    failedTasks,
    endpointErrors,
    endpointModelErrors,
    endpointLatency,
    endpointInvocations,
    dlqDepth,
    oldestMessage,
    triggerErrors,
    triggerThrottles,
  } = props.metrics;
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: props.dashboardName,
    defaultInterval: Duration.hours(24),
  });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Intake',
      left: [
        props.queue.metricNumberOfMessagesReceived({
          period: fiveMinutes,
          label: 'Upload events received',
        }),
        dlqDepth,
      ],
      right: [oldestMessage],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Trigger Lambda',
      left: [props.trigger.metricInvocations({ period: fiveMinutes }), triggerErrors, triggerThrottles],
      right: [props.trigger.metricDuration({ period: fiveMinutes, statistic: cloudwatch.Stats.p(90) })],
      width: 12,
    }),
  );
  const clusterName = props.worker.cluster.clusterName;
  const insights = (metricName: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: { ClusterName: clusterName },
      statistic,
      period: fiveMinutes,
      label,
    });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Worker tasks',
      left: [insights('TaskCount', cloudwatch.Stats.MAXIMUM, 'Running tasks'), failedTasks],
      right: [
        insights('CpuUtilized', cloudwatch.Stats.AVERAGE, 'CPU units used'),
        insights('MemoryUtilized', cloudwatch.Stats.AVERAGE, 'Memory used (MiB)'),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Anomaly endpoint',
      left: [endpointInvocations, endpointErrors, endpointModelErrors],
      right: [endpointLatency],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.LogQueryWidget({
      title: 'Worker errors (codes only)',
      logGroupNames: [props.worker.logGroup.logGroupName],
      queryLines: [
        'fields @timestamp, jobId, step, code, message',
        'filter level = "error"',
        'sort @timestamp desc',
        'limit 50',
      ],
      width: 24,
    }),
  );
  return dashboard;
}
