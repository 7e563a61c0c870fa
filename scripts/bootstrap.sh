#!/usr/bin/env bash
# Creates .venv and installs Genesis with its test dependencies. Idempotent: a second run is quick.
# torch is installed first as torch==2.13.0 (the CPU build); everything else comes from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.genesis-installed
want=$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet torch==2.13.0
  python -m pip install --quiet -e ".[test]"
  echo "$want" > "$stamp"
fi
