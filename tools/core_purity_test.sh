#!/usr/bin/env bash
# The core stays pure (tools/check_core_purity.sh passes on core/), and the check can fail.
set -euo pipefail
check=tools/check_core_purity.sh
"$check" core || { echo "FAIL: core/ is not pure"; exit 1; }
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
for line in '#include <chrono>' 'auto t = std::chrono::steady_clock::now();' '#include <random>' \
            '#include <thread>' 'const char* h = getenv("HOME");' '#include <sys/socket.h>'; do
  printf '%s\n' "$line" > "$bad/bad.cc"
  if "$check" "$bad" 2>/dev/null; then echo "FAIL: the check missed: $line"; exit 1; fi
done
printf '#include <chrono>\n' > "$bad/bad_test.cc"
rm "$bad/bad.cc"
"$check" "$bad" || { echo "FAIL: tests may use clocks"; exit 1; }
echo "core/ is pure; the check catches every forbidden pattern tried"
