#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, slow integration tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy src
.venv/bin/python -m pytest "$@"
# pytest exits 5 when it collects nothing; set -e turns that into a failure.
