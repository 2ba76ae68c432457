import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig } from '@medimg/aws';

/** Reads a secret's string value (the de-identification key) once at start-up. */
export function secretsManagerFetcher(client = new SecretsManagerClient(awsClientConfig())) {
  return async (secretId: string): Promise<string> => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (out.SecretString) return out.SecretString;
    if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('base64');
    throw new Error('the secret has no value');
  };
}
