#!/usr/bin/env bash
# Installs everything (first run) and runs the default test suite (slow benchmarks excluded).
# Services the tests need (FalkorDB over Bolt, a Chroma server, HTTP servers) are started by fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}  # small BLAS calls are faster single-threaded
exec python -m pytest "$@"
