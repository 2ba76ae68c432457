#!/usr/bin/env bash
# `npm run test:compose`: builds and runs docker-compose.yml (model container, the worker's
# production image behind its local ECS agent, the pipeline with the AWS stand-ins and the demo
# upload), then checks that the job ran in the worker's container and that the report and the
# critical-finding email landed in the data folder. Docker when its engine answers, else podman
# (../shared/containers/podman-setup.sh where present); skipped, saying so, when neither exists.
# Not part of `npm test`: the first build takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

if docker info >/dev/null 2>&1; then
  engine=docker; compose=(docker compose)
elif command -v podman >/dev/null 2>&1 && command -v podman-compose >/dev/null 2>&1; then
  engine=podman; compose=(podman-compose)
  if [[ -x ../shared/containers/podman-setup.sh ]]; then eval "$(../shared/containers/podman-setup.sh)"; fi
else
  echo "compose smoke test skipped: neither a Docker engine nor podman + podman-compose is available"
  exit 0
fi

project="medimg-smoke"   # one name, so that a second run reuses the images
data="$PWD/test/.work/compose-data-$$"
mkdir -p "$data"
export MEDIMG_DATA="$data"
sep=$([[ $engine == docker ]] && echo - || echo _)
cleanup() {
  "${compose[@]}" -p "$project" down >/dev/null 2>&1 || true
  [[ $engine == podman ]] && podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT

echo "compose smoke: $engine, project $project"
build_args=()
[[ $engine == podman ]] && build_args=(--podman-build-args=--pull=never)
"${compose[@]}" -p "$project" "${build_args[@]}" build >"$data.build.log" 2>&1 \
  || { tail -40 "$data.build.log"; echo "compose smoke: build failed"; exit 1; }
echo "compose smoke: images built in $((SECONDS - started)) s"
"${compose[@]}" -p "$project" up -d >/dev/null 2>&1
code=$($engine wait "${project}${sep}pipeline${sep}1")
$engine logs "${project}${sep}pipeline${sep}1" 2>&1 | grep -v '^    |' | tail -25
worker_log=$($engine logs "${project}${sep}worker${sep}1" 2>&1)
rm -f "$data.build.log"

fail() { echo "compose smoke: FAILED: $1"; exit 1; }
[[ $code == 0 ]] || fail "the pipeline container exited with $code"
grep -q '"msg":"task exited".*"exitCode":0' <<<"$worker_log" || fail "no job ran to completion in the worker's container"
ls "$data"/mail/*.eml >/dev/null 2>&1 || fail "no email in the data folder"
grep -l 'Critical finding' "$data"/mail/*.eml >/dev/null || fail "no critical-finding email"
[[ -s $data/report.html ]] || fail "no report.html"
ls "$data"/processed/studies/*/report.html >/dev/null 2>&1 || fail "no study report in the processed bucket"
echo "compose smoke: passed in $((SECONDS - started)) s (job ran in the worker image; email, report.html and processed/ written)"
