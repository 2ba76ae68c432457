/**
 * A local stand-in for ECS starting tasks from the worker's image (docker compose only): an HTTP
 * agent inside the worker's production image that, for each RunTask, starts the image's own entry
 * (main.mjs beside the bundled agent, what ENTRYPOINT runs on Fargate; `worker/src/main.ts` under
 * tsx when the agent runs from the sources) as a child process with the task's environment and the
 * job spec location, and reports its log lines and exit code.
 *
 *   POST /tasks  {"jobId", "jobSpecUri", "environment": {...}}  -> {"taskId"}
 *   GET  /tasks/<taskId>?from=<line>                             -> {"exitCode"?, "lines": [...]}
 *
 * It listens on MEDIMG_AGENT_PORT (default 9000). Not part of the AWS deployment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** In the image: ecs-agent.mjs and main.mjs side by side (worker/scripts/build-fargate.mjs). */
const BUNDLED_MAIN = path.join(HERE, 'main.mjs');
const ENTRY = existsSync(BUNDLED_MAIN)
  ? [BUNDLED_MAIN]
  : ['--import', 'tsx', path.resolve(HERE, '../main.ts')];

interface Task {
  readonly child: ChildProcess;
  readonly lines: string[];
  exitCode?: number;
}

const tasks = new Map<string, Task>();
let counter = 0;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function start(body: { jobId?: unknown; jobSpecUri?: unknown; environment?: unknown }): string {
  if (typeof body.jobSpecUri !== 'string' || typeof body.jobId !== 'string') throw new Error('bad request');
  const environment = (body.environment ?? {}) as Record<string, string>;
  counter += 1;
  const taskId = `${body.jobId}-${counter}`;
  // The image's own entry, as Fargate starts it (ENTRYPOINT node main.mjs).
  const child = spawn(process.execPath, ENTRY, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: process.env.NODE_ENV ?? 'production',
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      TSX_DISABLE_CACHE: '1',
      ...environment,
      JOB_SPEC_URI: body.jobSpecUri,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const task: Task = { child, lines: [] };
  let pending = '';
  const onData = (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    task.lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('close', (code, signal) => {
    if (pending) task.lines.push(pending);
    task.exitCode = code ?? (signal ? 128 : 1);
    process.stdout.write(`${JSON.stringify({ msg: 'task exited', taskId, exitCode: task.exitCode })}\n`);
  });
  tasks.set(taskId, task);
  process.stdout.write(`${JSON.stringify({ msg: 'task started', taskId })}\n`);
  return taskId;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (req.method === 'POST' && url.pathname === '/tasks') {
    readJson(req).then(
      (body) => {
        try {
          send(res, 201, { taskId: start(body as Record<string, unknown>) });
        } catch {
          send(res, 400, { error: 'expected {"jobId","jobSpecUri","environment"}' });
        }
      },
      () => send(res, 400, { error: 'not JSON' }),
    );
    return;
  }
  const m = /^\/tasks\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
  const task = m ? tasks.get(m[1]!) : undefined;
  if (req.method === 'GET' && task) {
    const from = Math.max(0, Number(url.searchParams.get('from') ?? 0) || 0);
    send(res, 200, { exitCode: task.exitCode ?? null, lines: task.lines.slice(from) });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/ping') return send(res, 200, { status: 'ok' });
  send(res, 404, { error: 'not found' });
});

const port = Number(process.env.MEDIMG_AGENT_PORT ?? 9000);
server.listen(port, '0.0.0.0', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'ecs agent listening', port })}\n`);
});
const stop = () => {
  for (const t of tasks.values()) t.child.kill('SIGTERM');
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
