import { WORKER_ENV } from '@medimg/common';
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';

/**
 * The de-identification key (DESIGN D3): the HMAC key behind every pseudonym, UID and date shift.
 * Secrets Manager generates it at deploy time, so its value is never in the template, the code or
 * an environment variable; the worker gets only the secret's ARN and reads the value at start-up.
 * 64 hex characters = 32 random bytes.
 */
export class DeidKey extends Construct {
  readonly encryptionKey: kms.Key;
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.encryptionKey = new kms.Key(this, 'SecretKey', {
      description: 'medimg pipeline: de-identification key secret',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        'medimg pipeline: HMAC-SHA256 key for pseudonyms, UIDs and date shifts (hex, 32 bytes). Losing or changing it breaks longitudinal linkage.',
      encryptionKey: this.encryptionKey,
      generateSecretString: {
        passwordLength: 64,
        excludeUppercase: true,
        excludePunctuation: true,
        includeSpace: false,
        // Leaves 0-9 and a-f: hex.
        excludeCharacters: 'ghijklmnopqrstuvwxyz',
        requireEachIncludedType: false,
      },
      // Deleting the stack must never destroy the key: every pseudonym depends on it.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const noRotation =
      'Automatic rotation would silently change every pseudonym, new UID and date shift, breaking the longitudinal linkage that de-identification must preserve (DESIGN D3). Re-keying is a deliberate, manual procedure (infra/README.md), not a schedule. The secret is encrypted with its own customer-managed key (rotated yearly) and readable only by the worker task role.';
    acknowledge(this.secret, 'AwsSolutions-SMG4', noRotation);
    acknowledge(this.secret, 'HIPAA.Security-SecretsManagerRotationEnabled', noRotation);
  }

  /** Read access for the worker's task role, and DEID_KEY_SECRET_ARN (the ARN only). */
  bindWorker(container: ecs.ContainerDefinition): void {
    const role = container.taskDefinition.taskRole;
    container.addEnvironment(WORKER_ENV.DEID_KEY_SECRET_ARN, this.secret.secretArn);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.encryptionKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${this.encryptionKey.stack.region}.amazonaws.com`,
          },
        },
      }),
    );
  }
}
