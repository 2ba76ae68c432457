import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Reads a secret's string value (the de-identification key) once at start-up. */
export function secretsManagerFetcher(
  client = new SecretsManagerClient({ maxAttempts: 5, retryMode: 'standard' }),
) {
  return async (secretId: string): Promise<string> => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (out.SecretString) return out.SecretString;
    if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('base64');
    throw new Error('the secret has no value');
  };
}
