#!/usr/bin/env bash
# Installs everything (first run) and runs the flagship example on the embedded defaults:
# no API key, no network, no server. Outputs land in ./out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export GENESIS_DATA_DIR=${GENESIS_DATA_DIR:-.genesis}
genesis run "Analyse churn by contract type in the customer table and make a short video of the findings" \
  --input examples/data/churn.csv --output out/demo
