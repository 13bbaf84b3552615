#!/usr/bin/env bash
# Runs a benchmark binary on its smallest sizes for a moment: it must start, run and exit 0.
# A benchmark that reports an error (SkipWithError) fails the test.
set -euo pipefail
out="$("$1" --benchmark_filter='/1000(/real_time)?$' --benchmark_min_time=0.001 2>&1)"
echo "$out"
if grep -q 'ERROR OCCURRED' <<<"$out"; then
  echo "smoke_test.sh: a benchmark reported an error" >&2
  exit 1
fi
