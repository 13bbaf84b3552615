#!/bin/bash
# A simulated node's trace, written by //sim, replays with //trace:replay --check: byte for
# byte the same text.
set -euo pipefail
sim="$1"
replay="$2"
trace="${TEST_TMPDIR:-/tmp}/node0.jsonl"
"$sim" --scenario sim/scenarios/storm.json --set nodes=60 --set 'duration="40s"' \
  --variant jitter_50 --trace "$trace" > /dev/null
lines=$(wc -l < "$trace")
if [ "$lines" -lt 100 ]; then
  echo "trace too short: $lines lines" >&2
  exit 1
fi
"$replay" --check "$trace"
