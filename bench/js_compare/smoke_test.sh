#!/usr/bin/env bash
# Generates a small churn workload and runs it through the core: both binaries must start,
# agree on the format and exit 0 (the js side is not part of the Bazel build; run.sh runs it).
set -euo pipefail
trace="${TEST_TMPDIR:-/tmp}/churn_smoke.jsonl"
"$1" --out="$trace" --inputs=5000 --peers=1000 --max_connections=50
out=$("$2" --trace="$trace")
echo "$out"
grep -q '^side=connmgr inputs=5000 .* errors=0 ' <<<"$out"
