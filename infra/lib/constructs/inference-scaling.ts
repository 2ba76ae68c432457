import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import { Construct } from 'constructs';
import type { InferenceSettings } from '../config.ts';
import { type Inference, VARIANT_NAME } from './inference.ts';

/**
 * Instance-backed endpoints follow the load: target tracking on invocations per instance, between
 * `instanceCount` and `instanceMaxCount` instances. (Serverless endpoints scale by themselves up to
 * their max concurrency, which follows the task cap: config.ts.)
 */
export class InferenceScaling extends Construct {
  readonly target: appscaling.ScalableTarget;

  constructor(scope: Construct, id: string, props: { inference: Inference; settings: InferenceSettings }) {
    super(scope, id);
    const s = props.settings;
    this.target = new appscaling.ScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      resourceId: `endpoint/${props.inference.endpoint.attrEndpointName}/variant/${VARIANT_NAME}`,
      minCapacity: s.instanceCount,
      maxCapacity: s.instanceMaxCount,
    });
    this.target.node.addDependency(props.inference.endpoint);
    this.target.scaleToTrackMetric('InvocationsPerInstance', {
      predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
      targetValue: s.invocationsPerInstanceTarget,
    });
  }
}
