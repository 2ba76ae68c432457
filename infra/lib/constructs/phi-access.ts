import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge, INLINE_POLICY_REASON } from '../nag.ts';

export interface PhiAccessProps {
  /**
   * Principals trusted to assume the re-identification role. Empty: the account is trusted with
   * MFA, so an IAM policy granting sts:AssumeRole on the role is needed too, and none exists
   * until the break-glass procedure (docs/runbook.md) grants one.
   */
  readonly reidentifierPrincipalArns: readonly string[];
}

/**
 * The re-identification role: the only way back from a pseudonymous study to the patient. It reads
 * the linkage store and writes an audit record of each request (Storage.bindReidentifier); the
 * worker that writes the linkage records cannot read them. Sessions last at most an hour and need
 * MFA; CloudTrail records every object they read (audit-trail.ts).
 */
export class PhiAccess extends Construct {
  readonly reidentificationRole: iam.Role;

  constructor(scope: Construct, id: string, props: PhiAccessProps) {
    super(scope, id);
    const mfa = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
    const trusted: iam.IPrincipal =
      props.reidentifierPrincipalArns.length > 0
        ? new iam.CompositePrincipal(
            ...props.reidentifierPrincipalArns.map((arn) => new iam.ArnPrincipal(arn).withConditions(mfa)),
          )
        : new iam.AccountRootPrincipal().withConditions(mfa);
    this.reidentificationRole = new iam.Role(this, 'ReidentificationRole', {
      assumedBy: trusted,
      maxSessionDuration: Duration.hours(1),
      description:
        'medimg re-identification (break-glass): read linkage records, write the audit record of the request',
    });
    acknowledge(this.reidentificationRole, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
  }
}
