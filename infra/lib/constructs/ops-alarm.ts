import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/**
 * An operations alarm: at or above the threshold over one period, missing data not breaching; it
 * tells the operations topic when it fires and when it clears, and its description names its row in
 * docs/runbook.md (the alarm id), where the operator reads what it means and what to do.
 */
export function opsAlarm(
  scope: Construct,
  opsTopic: sns.ITopic,
  id: string,
  description: string,
  metric: cloudwatch.IMetric,
  threshold: number,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: `${description} (docs/runbook.md: ${id})`,
    metric,
    threshold,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.SnsAction(opsTopic));
  alarm.addOkAction(new cwActions.SnsAction(opsTopic));
  return alarm;
}
