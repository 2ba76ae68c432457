/**
 * The Fargate image as the task definition runs it: read-only root file system, a fresh volume
 * mounted at /tmp, the image's own user. A volume takes the owner and mode of the image's /tmp,
 * so this proves that the worker can write its temporary files there (issue 14).
 *
 * Needs a container engine: docker with a running daemon, or podman (on this project's machines:
 * `eval "$(../shared/containers/podman-setup.sh)"` first). Without one the test is skipped, and
 * says why on stderr. Building the image takes a few minutes the first time (npm ci inside).
 * It also starts the image's entry (bundled plain JavaScript, issue 18) with no configuration.
 */
import { spawnSync } from 'node:child_process';
import { runBounded } from '@medimg/common/testing/child.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/task-runner.ts';

/** The Dockerfile's base image: builds here are offline (`--pull=never`), so it must be local. */
const BASE_IMAGE = 'docker.io/library/node:22-bookworm-slim';

function findEngine(): { engine?: string; why: string } {
  const tried: string[] = [];
  for (const engine of ['podman', 'docker']) {
    const info = spawnSync(engine, ['info'], { stdio: 'ignore', timeout: 30_000 });
    if (info.status !== 0) {
      tried.push(`${engine}: ${info.error ? 'not installed' : `"${engine} info" exited ${info.status}`}`);
      continue;
    }
    const base = spawnSync(engine, ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore', timeout: 30_000 });
    if (base.status === 0) return { engine, why: '' };
    tried.push(`${engine}: base image ${BASE_IMAGE} not present locally`);
  }
  return { why: tried.join('; ') };
}

const { engine, why } = findEngine();
if (!engine) {
  process.stderr.write(
    `worker-image.test.ts: SKIPPED, no container engine that can build the image offline (${why}). Run ../shared/containers/podman-setup.sh to enable it.\n`,
  );
}

const IMAGE = 'localhost/medimg-worker-image-test:latest';
const VOLUME = `medimg-worker-tmp-${process.pid}`;

describe.skipIf(!engine)('the worker image', () => {
  /** The engine, bounded (a failed or stuck command fails the test by name; 60 s unless told). */
  const run = (args: string[], timeoutMs = 60_000): string => {
    const r = runBounded(engine as string, args, {
      name: `${engine} ${args[0]}`,
      timeoutMs,
      exit: 'any',
      cwd: REPO_ROOT,
    });
    if (r.status !== 0) throw new Error(`${engine} ${args[0]} exited ${r.status}:\n${r.stderr.slice(-4000)}`);
    return r.stdout;
  };

  beforeAll(() => {
    run(
      [
        'build',
        ...(engine === 'podman' ? ['--pull=never'] : []),
        '-f',
        'worker/Dockerfile',
        '-t',
        IMAGE,
        '.',
        // A few minutes the first time (npm ci inside); below the hook's 900 s.
      ],
      840_000,
    );
    run(['volume', 'create', VOLUME]);
  }, 900_000);

  afterAll(() => {
    if (!engine) return;
    runBounded(engine, ['volume', 'rm', '-f', VOLUME], {
      name: `${engine} volume rm`,
      timeoutMs: 60_000,
      exit: 'any',
      stdio: 'ignore',
    });
  });

  it('declares /tmp as a volume and runs as the unprivileged node user', () => {
    const config = JSON.parse(run(['image', 'inspect', IMAGE, '--format', '{{json .Config}}']));
    expect(Object.keys(config.Volumes ?? {})).toContain('/tmp');
    expect(config.User).toBe('node');
  });

  it('lets the task user write to a fresh /tmp volume over a read-only root file system', () => {
    const out = run([
      'run',
      '--rm',
      '--read-only',
      '-v',
      `${VOLUME}:/tmp`,
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'id -un; stat -c %U:%a /tmp; echo probe > /tmp/probe && cat /tmp/probe; touch /app/x 2>/dev/null || echo root-read-only',
    ]);
    expect(out.trim().split('\n')).toEqual(['node', 'node:750', 'probe', 'root-read-only']);
  });

  it('starts its bundled entry without tsx and exits 78 naming the missing variables', () => {
    const config = JSON.parse(run(['image', 'inspect', IMAGE, '--format', '{{json .Config}}']));
    expect(config.Entrypoint).toEqual(['node', 'main.mjs']);
    const result = runBounded(
      engine as string,
      ['run', '--rm', '--read-only', '-v', `${VOLUME}:/tmp`, IMAGE],
      {
        name: `${engine} run`,
        timeoutMs: 120_000,
        exit: 'any',
      },
    );
    expect(result.status).toBe(78);
    expect(result.stdout + result.stderr).toContain('JOB_SPEC_URI');
    expect(result.stdout + result.stderr).toContain('CONFIG_INVALID');
    const tsx = run(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', 'ls /app/node_modules; ls /app']);
    expect(tsx.split('\n')).not.toContain('tsx');
    expect(tsx.split('\n')).toContain('sharp');
  }, 180_000);
});
