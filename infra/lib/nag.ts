import { type App, type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The rule packs this project must pass (DESIGN D8). */
export function nagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new HIPAASecurityChecks()];
}

/**
 * Registers the packs on the app: synth fails on any unacknowledged error and writes the findings to
 * cdk.out. Acknowledgements live next to the resource they concern, each with its reason.
 */
export function applyNagPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
}

/** Acknowledges one finding on a construct and everything below it; the reason is mandatory. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The finding id cdk-nag gives a policy resource `<bucket ARN>/<prefix>*`, for example
 * `AwsSolutions-IAM5[Resource::<StorageRawBucketBBD9BDC5.Arn>/incoming/*]`.
 */
export function objectWildcardFinding(bucket: s3.IBucket, prefix: string): string {
  const cfn = bucket.node.defaultChild as CfnResource;
  return `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(cfn)}.Arn>/${prefix}*]`;
}

/** Same for any resource ARN (`<LogicalId.Arn>` plus a suffix). */
export function arnWildcardFinding(resource: IConstruct, suffix: string): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnResource;
  return `AwsSolutions-IAM5[Resource::<${Stack.of(resource).getLogicalId(cfn)}.Arn>${suffix}]`;
}

/** Policies attached inline to one role (HIPAA.Security-IAMNoInlinePolicy), acknowledged for that role. */
export const INLINE_POLICY_REASON =
  'Each inline policy belongs to exactly one role, is generated from the resources of this stack (no wildcard actions, resources scoped to this stack), and is created, reviewed and deleted with its role; a customer-managed policy would add a second object to keep in step without narrowing anything.';

export const ECR_TOKEN_REASON =
  'ecr:GetAuthorizationToken is an account-level call that takes no resource ARN (IAM requires "*"); the image pull actions themselves are scoped to the one asset repository.';
