import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelArtifacts } from './constructs/inference.ts';
import type { LambdaCodeSource } from './constructs/vpc-function.ts';
import type { DockerImageSource } from './constructs/worker.ts';

/** The repository root (infra/lib/ is two levels down). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Left out of the Docker build contexts (the repository root): dependencies are installed inside
 * the image from the lockfile, and build outputs, local data and VCS files have no place there.
 * `**\/cdk.out` matters most: the assets are staged inside infra/cdk.out, itself under the root.
 */
export const DOCKER_CONTEXT_EXCLUDES: readonly string[] = [
  '**/node_modules',
  '**/cdk.out',
  '**/dist',
  '**/coverage',
  '.git',
  '.demo-data',
  '**/*.log',
];

/** Where the code and images of the deployables come from. */
export interface PipelineSources {
  readonly workerImage: DockerImageSource;
  readonly modelImage: DockerImageSource;
  /** Packaged as the SageMaker model data (model.tar.gz); omit when the image carries the model. */
  readonly modelArtifacts?: ModelArtifacts;
  readonly trigger: LambdaCodeSource;
  readonly dispatcher: LambdaCodeSource;
  readonly uploadApi: LambdaCodeSource;
}

/** The repository's own deployables: worker/Dockerfile, models/Dockerfile, models/artifacts, trigger-lambda, upload-api. */
export function repositorySources(root: string = REPO_ROOT): PipelineSources {
  return {
    workerImage: { directory: root, file: 'worker/Dockerfile', exclude: DOCKER_CONTEXT_EXCLUDES },
    modelImage: { directory: root, file: 'models/Dockerfile', exclude: DOCKER_CONTEXT_EXCLUDES },
    modelArtifacts: {
      directory: path.join(root, 'models', 'artifacts'),
      files: ['model.onnx', 'model.json'],
    },
    trigger: {
      entry: path.join(root, 'trigger-lambda', 'src', 'handler.ts'),
      projectRoot: root,
      depsLockFilePath: path.join(root, 'package-lock.json'),
    },
    dispatcher: {
      entry: path.join(root, 'trigger-lambda', 'src', 'dispatch', 'lambda.ts'),
      projectRoot: root,
      depsLockFilePath: path.join(root, 'package-lock.json'),
    },
    uploadApi: {
      entry: path.join(root, 'upload-api', 'src', 'lambda.ts'),
      projectRoot: root,
      depsLockFilePath: path.join(root, 'package-lock.json'),
    },
  };
}
