import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmSettings } from '../config.ts';
import { VARIANT_NAME } from './inference.ts';
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
 * Alarms to the operations topic and one dashboard. Failed worker tasks are caught by an
 * EventBridge rule on ECS task state changes (STOPPED with a non-zero exit code, or never
 * started), which sends each one to the operations topic; the alarm on that rule's match count
 * tells when failures keep coming.
 */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly failedTaskRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const fiveMinutes = Duration.minutes(5);

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

    const failedTasks = new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'TriggeredRules',
      dimensionsMap: { RuleName: this.failedTaskRule.ruleName },
      statistic: cloudwatch.Stats.SUM,
      period: fiveMinutes,
      label: 'Failed worker tasks',
    });
    const endpointMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: props.endpointName, VariantName: VARIANT_NAME },
        statistic,
        period: fiveMinutes,
        label,
      });
    const endpointErrors = endpointMetric('Invocation5XXErrors', cloudwatch.Stats.SUM, 'Endpoint 5XX errors');
    const endpointModelErrors = endpointMetric('InvocationModelErrors', cloudwatch.Stats.SUM, 'Model errors');
    // ModelLatency is in microseconds.
    const endpointLatency = endpointMetric('ModelLatency', cloudwatch.Stats.p(90), 'Model latency p90 (us)');
    const endpointInvocations = endpointMetric('Invocations', cloudwatch.Stats.SUM, 'Invocations');
    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: fiveMinutes,
      statistic: cloudwatch.Stats.MAXIMUM,
      label: 'Dead-letter queue depth',
    });
    const oldestMessage = props.queue.metricApproximateAgeOfOldestMessage({
      period: fiveMinutes,
      statistic: cloudwatch.Stats.MAXIMUM,
      label: 'Oldest intake message (s)',
    });
    const triggerErrors = props.trigger.metricErrors({
      period: fiveMinutes,
      statistic: cloudwatch.Stats.SUM,
    });
    const triggerThrottles = props.trigger.metricThrottles({
      period: fiveMinutes,
      statistic: cloudwatch.Stats.SUM,
    });

    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new cwActions.SnsAction(props.opsTopic));
      a.addOkAction(new cwActions.SnsAction(props.opsTopic));
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

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
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
  }

  get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
