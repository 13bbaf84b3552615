#!/usr/bin/env bash
# connmgr_node's command line, run as a user would: every flag works in the mode given or is
# refused by name, relative paths follow the directory the command ran from, --version, JSON
# syntax errors with line and column, --dial errors at startup. Every run is bounded by
# `timeout`, so a node that wrongly keeps running fails the case instead of hanging the test.
set -uo pipefail

node=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
failures=0
out=$TEST_TMPDIR/out
err=$TEST_TMPDIR/err

# expect NAME WANT_STATUS WANT_STDERR_SUBSTRING -- ARGS...: runs the node from a directory that
# is not BUILD_WORKING_DIRECTORY (as `bazel run` does).
expect() {
  local name=$1 want_status=$2 want=$3
  shift 4
  local status=0
  (cd "$TEST_TMPDIR/elsewhere" && timeout 20 "$node" "$@") >"$out" 2>"$err" || status=$?
  if [[ $status -ne $want_status ]] || ! grep -qF -- "$want" "$out" "$err"; then
    echo "FAIL $name: exit $status (want $want_status), output lacks: $want"
    sed 's/^/  stdout: /' "$out" | head -5
    sed 's/^/  stderr: /' "$err" | head -5
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

mkdir -p "$TEST_TMPDIR/wd" "$TEST_TMPDIR/elsewhere"
export BUILD_WORKING_DIRECTORY=$TEST_TMPDIR/wd
printf '{\n  "max_connections": 50\n  "low_watermark": 10\n}\n' >"$TEST_TMPDIR/wd/bad.json"
printf '{"max_conections": 50}\n' >"$TEST_TMPDIR/wd/typo.json"
listen=(--listen /ip4/127.0.0.1/tcp/0)

expect version 0 "connmgr_node 0.2.0" -- --version
expect version_after_flags 0 "connmgr_node 0.2.0" -- --demo-seconds 3 --version

# The demo refuses the node's flags instead of ignoring them (a typo'd config was "accepted").
expect demo_refuses_config 2 "--config: only for a node" -- --config typo.json
expect demo_refuses_metrics_port 2 "--metrics-port: only for a node" -- --metrics-port 9100
expect demo_refuses_trace 2 "--trace: only for a node" -- --trace t.jsonl
expect demo_refuses_peer_seed 2 "--peer-seed: only for a node" -- --peer-seed 7
expect demo_refuses_dns_server 2 "--dns-server: only for a node" -- --dns-server 127.0.0.1:53
expect node_refuses_demo_seconds 2 "--demo-seconds: only for the demo" -- "${listen[@]}" \
  --demo-seconds 5

# Relative paths are the user's: BUILD_WORKING_DIRECTORY, not the directory the node runs in.
expect config_relative_path_and_json_position 2 \
  "$TEST_TMPDIR/wd/bad.json: config: not valid JSON at line 3, column 17" -- "${listen[@]}" \
  --config bad.json
expect config_typo_named 2 'max_conections: unknown key; did you mean "max_connections"?' -- \
  "${listen[@]}" --config typo.json
expect trace_relative_path 2 "cannot write $TEST_TMPDIR/wd/no-such-dir/t.jsonl" -- \
  "${listen[@]}" --trace no-such-dir/t.jsonl

# A --dial the node cannot carry out stops it at startup.
expect dial_without_peer_is_fatal 2 "--dial /ip4/127.0.0.1/tcp/4001: needs the peer" -- \
  --dial /ip4/127.0.0.1/tcp/4001

if ((failures)); then
  echo "$failures case(s) failed"
  exit 1
fi
