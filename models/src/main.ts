/** Container entry (`serve`): read the environment, start the server, stop cleanly on SIGTERM/SIGINT. */
import { readServerConfig } from './config.ts';
import { ModelServerError } from './errors.ts';
import { startModelServer } from './server.ts';

const fail = (err: unknown): never => {
  const code = err instanceof ModelServerError ? err.code : 'MODEL_ERROR';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `${JSON.stringify({ level: 'error', service: 'model-server', code, msg: message })}\n`,
  );
  process.exit(1);
};

try {
  const server = await startModelServer(readServerConfig(process.env));
  // A model that cannot load will never answer /ping: exit so SageMaker reports the failure at once.
  server.ready.catch(fail);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      `${JSON.stringify({ level: 'info', service: 'model-server', msg: 'stopping', signal })}\n`,
    );
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    server.close().then(() => process.exit(0), fail);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  fail(err);
}
