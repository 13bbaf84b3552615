#!/usr/bin/env bash
# Runs a benchmark binary with tiny arguments: it must start, run and exit 0.
set -euo pipefail
"$@"
