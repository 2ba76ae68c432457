import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmSettings } from '../config.ts';
import { createDashboard } from './dashboard.ts';
import { pipelineMetrics } from './metrics.ts';
import { opsAlarm } from './ops-alarm.ts';
import type { Worker } from './worker.ts';

export interface ObservabilityProps {
  readonly settings: AlarmSettings;
  readonly opsTopic: sns.ITopic;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly trigger: lambda.IFunction;
  readonly worker: Worker;
  readonly endpointName: string;
  readonly dashboardName: string;
}

/**
 * Alarms to the operations topic, and the dashboard (dashboard.ts) over the same metrics
 * (metrics.ts). Failed worker tasks are caught by an EventBridge rule on ECS task state changes (STOPPED with a non-zero exit code, or never
 * started), which sends each one to the operations topic; the alarm on that rule's match count
 * tells when failures keep coming.
 */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly failedTaskRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    this.failedTaskRule = new events.Rule(this, 'FailedTaskRule', {
      description: 'medimg worker task stopped with a non-zero exit code, or failed to start',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.worker.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
        },
      },
    });
    // Only ids and codes go out (task ARN, job spec location by job id, stop code), never PHI.
    this.failedTaskRule.addTarget(
      new targets.SnsTopic(props.opsTopic, {
        message: events.RuleTargetInput.fromObject({
          event: 'worker task failed',
          taskArn: events.EventField.fromPath('$.detail.taskArn'),
          stopCode: events.EventField.fromPath('$.detail.stopCode'),
          stoppedReason: events.EventField.fromPath('$.detail.stoppedReason'),
          containers: events.EventField.fromPath('$.detail.containers'),
          overrides: events.EventField.fromPath('$.detail.overrides'),
        }),
      }),
    );

    const metrics = pipelineMetrics({ ...props, failedTaskRule: this.failedTaskRule });
    const {
      failedTasks,
      endpointErrors,
      endpointModelErrors,
      endpointLatency,
      dlqDepth,
      triggerErrors,
      triggerThrottles,
    } = metrics;

    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = opsAlarm(this, props.opsTopic, id, description, metric, threshold);
      this.alarms.push(a);
      return a;
    };
    alarm(
      'DeadLetterQueueAlarm',
      'Upload events reached the dead-letter queue: some uploads started no job',
      dlqDepth,
      1,
    );
    alarm('FailedTasksAlarm', 'Worker tasks failed (non-zero exit or failed to start)', failedTasks, 1);
    alarm('EndpointErrorsAlarm', 'The anomaly endpoint returned 5XX errors', endpointErrors, 1);
    alarm('EndpointModelErrorsAlarm', 'The anomaly model container returned errors', endpointModelErrors, 1);
    alarm(
      'EndpointLatencyAlarm',
      `Anomaly model latency p90 is at or above ${props.settings.endpointLatencyThresholdMs} ms`,
      endpointLatency,
      props.settings.endpointLatencyThresholdMs * 1000,
    );
    alarm(
      'TriggerErrorsAlarm',
      'The trigger Lambda failed (errors, not partial batch failures)',
      triggerErrors,
      1,
    );
    alarm('TriggerThrottlesAlarm', 'The trigger Lambda is throttled', triggerThrottles, 1);

    this.dashboard = createDashboard(this, { ...props, alarms: this.alarms, metrics });
  }

  get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
