import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { VARIANT_NAME } from './inference.ts';

export interface PipelineMetricSources {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly trigger: lambda.IFunction;
  readonly failedTaskRule: events.IRule;
  readonly endpointName: string;
}

/** The metrics that the alarms watch and the dashboard shows, each defined once (five-minute periods). */
export function pipelineMetrics(props: PipelineMetricSources) {
  const fiveMinutes = Duration.minutes(5);
  const failedTasks = new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName: 'TriggeredRules',
    dimensionsMap: { RuleName: props.failedTaskRule.ruleName },
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
  return {
    failedTasks,
    endpointErrors,
    endpointModelErrors,
    endpointLatency,
    endpointInvocations,
    dlqDepth,
    oldestMessage,
    triggerErrors,
    triggerThrottles,
  };
}

export type PipelineMetrics = ReturnType<typeof pipelineMetrics>;
