#!/usr/bin/env bash
# Create .venv and install veriwiki with its test tools (pinned by constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
