#!/usr/bin/env bash
# replay's command line as a user meets it: a relative TRACE is read from the directory the
# command ran from (BUILD_WORKING_DIRECTORY under `bazel run`), and --human times count from the
# trace's first instant, so a trace recorded at any clock reading reads the same.
set -uo pipefail

replay=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
trace=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
failures=0
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

mkdir -p "$TEST_TMPDIR/wd/examples" "$TEST_TMPDIR/elsewhere"
cp "$trace" "$TEST_TMPDIR/wd/examples/dialing.jsonl"
# The same trace recorded 5000 s later on the node's steady clock.
awk '{
  if (match($0, /^\{"t":[0-9]+/)) {
    t = substr($0, 6, RLENGTH - 5) + 5000000000000
    $0 = sprintf("{\"t\":%.0f%s", t, substr($0, RLENGTH + 1))
  }
  print
}' "$trace" >"$TEST_TMPDIR/wd/later.jsonl"

cd "$TEST_TMPDIR/elsewhere" || exit 1
export BUILD_WORKING_DIRECTORY=$TEST_TMPDIR/wd

# The README's command: a relative path, run from elsewhere.
if BUILD_WORKING_DIRECTORY=$TEST_TMPDIR/wd timeout 60 "$replay" --human examples/dialing.jsonl \
    >"$TEST_TMPDIR/human.txt" 2>"$TEST_TMPDIR/err"; then
  echo "ok   relative_path"
else
  fail "relative_path: $(cat "$TEST_TMPDIR/err")"
fi

if timeout 60 "$replay" --human later.jsonl >"$TEST_TMPDIR/later.txt" 2>"$TEST_TMPDIR/err"; then
  first=$(grep -m1 -E '^ +[0-9]+\.[0-9]{3}s ' "$TEST_TMPDIR/later.txt")
  if [[ $first != "    0.000s  "* ]]; then
    fail "human_relative_times: first line is not at 0.000s: $first"
  elif ! diff "$TEST_TMPDIR/human.txt" "$TEST_TMPDIR/later.txt" >"$TEST_TMPDIR/diff"; then
    fail "human_relative_times: the shifted trace reads differently:"
    head -10 "$TEST_TMPDIR/diff"
  else
    echo "ok   human_relative_times"
  fi
else
  fail "human_relative_times: $(cat "$TEST_TMPDIR/err")"
fi

# The trace's own clock still shows in the plain replay.
# (Into a file: grep -q in a pipe would end replay with SIGPIPE, and pipefail would count it.)
if timeout 60 "$replay" later.jsonl >"$TEST_TMPDIR/plain.jsonl" &&
    grep -q '"t":5000000000000' "$TEST_TMPDIR/plain.jsonl"; then
  echo "ok   plain_replay_keeps_times"
else
  fail "plain_replay_keeps_times"
fi

# A dial error is the peer's text (it may quote what the peer sent): the timeline prints it
# escaped, on one line, never as a terminal escape or a forged line.
sed 's/"error":"connection refused"/"error":"refused\\n0.000s  > forged\\u001b[2J"/' "$trace" \
  >"$TEST_TMPDIR/wd/hostile.jsonl"
if timeout 60 "$replay" --human hostile.jsonl >"$TEST_TMPDIR/hostile.txt" 2>"$TEST_TMPDIR/err" &&
    grep -qF 'error=refused\n0.000s  > forged\x1b[2J' "$TEST_TMPDIR/hostile.txt" &&
    ! grep -q $'\x1b' "$TEST_TMPDIR/hostile.txt" && ! grep -q '^0.000s  > forged' "$TEST_TMPDIR/hostile.txt"; then
  echo "ok   human_escapes_peer_text"
else
  fail "human_escapes_peer_text: $(grep -m1 forged "$TEST_TMPDIR/hostile.txt") $(cat "$TEST_TMPDIR/err")"
fi

if ((failures)); then
  echo "$failures case(s) failed"
  exit 1
fi
