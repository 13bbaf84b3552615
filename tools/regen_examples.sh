#!/usr/bin/env bash
# Rebuilds examples/*.jsonl from the hand-written inputs in examples/inputs/ by replaying them.
# Run it after changing an input file or, deliberately, the core's behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."
./bazelw build //trace:replay
for input in examples/inputs/*.jsonl; do
  bazel-bin/trace/replay "$input" > "examples/$(basename "$input")"
  echo "examples/$(basename "$input")"
done
