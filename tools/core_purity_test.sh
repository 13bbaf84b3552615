#!/usr/bin/env bash
# The core and the sans-I/O codecs stay pure (tools/check_core_purity.sh passes on core/, and in
# codec mode on shell/mux and shell/noise), and the check can fail: every rule is tried on a bad
# file in both modes.
set -euo pipefail
check=tools/check_core_purity.sh
"$check" core || { echo "FAIL: core/ is not pure"; exit 1; }
"$check" --codec shell/mux shell/noise || { echo "FAIL: a codec reaches outside"; exit 1; }
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT

# Caught in the core and in a codec.
both=('#include <chrono>' 'auto t = std::chrono::steady_clock::now();' '#include <thread>'
      '#include <mutex>' '#include <sys/socket.h>' '#include <arpa/inet.h>' '#include <netdb.h>'
      '#include <boost/asio.hpp>' 'absl::Time t = absl::Now();' '#include <unistd.h>'
      'const char* h = getenv("HOME");' '#include <fstream>' 'std::cout << 1;')
# Caught in the core only: a codec may draw keys from libsodium.
core_only=('#include <random>' 'int r = rand();' '#include <sodium.h>' 'randombytes_buf(b, 32);')

for line in "${both[@]}" "${core_only[@]}"; do
  printf '%s\n' "$line" > "$bad/bad.cc"
  if "$check" "$bad" 2>/dev/null; then echo "FAIL: the core check missed: $line"; exit 1; fi
done
for line in "${both[@]}"; do
  printf '%s\n' "$line" > "$bad/bad.h"
  if "$check" --codec "$bad" 2>/dev/null; then echo "FAIL: the codec check missed: $line"; exit 1; fi
done
rm -f "$bad/bad.cc" "$bad/bad.h"
printf '#include <sodium.h>\nrandombytes_buf(b, 32);\n' > "$bad/codec.cc"
"$check" --codec "$bad" || { echo "FAIL: a codec may use libsodium"; exit 1; }
rm "$bad/codec.cc"

printf '#include <chrono>\n#include <arpa/inet.h>\n' > "$bad/bad_test.cc"
"$check" "$bad" || { echo "FAIL: tests may use clocks and inet_pton"; exit 1; }
if "$check" "$bad/missing" 2>/dev/null; then echo "FAIL: a missing directory passed"; exit 1; fi
echo "core/ and the codecs are pure; the check catches every forbidden pattern tried"
