#!/usr/bin/env bash
# Fails if any non-test source under the given directories reaches outside the core: I/O,
# clocks, threads, ambient randomness, environment, or Boost. Prints each offending line.
#   tools/check_core_purity.sh core
set -uo pipefail
forbidden='#include[[:space:]]*<(boost/|thread>|mutex>|atomic>|future>|condition_variable>|random>|fstream>|iostream>|cstdio>|stdio\.h>|chrono>|ctime>|time\.h>|filesystem>|sys/|netinet/|unistd\.h|fcntl\.h|ares\.h)'
forbidden+='|(steady_clock|system_clock|high_resolution_clock)::now|random_device|std::rand\(|[^_a-zA-Z]rand\(\)|[^_a-zA-Z]time\(nullptr\)|getenv\(|absl::Now\(|absl/random/|absl/time/clock\.h|fopen\(|std::cout|std::cerr|printf\('
status=0
for dir in "$@"; do
  while IFS= read -r file; do
    if hits=$(grep -nE "$forbidden" "$file"); then
      echo "$file: reaches outside the core:" >&2
      echo "$hits" | sed 's/^/  /' >&2
      status=1
    fi
  done < <(find "$dir" \( -name '*.h' -o -name '*.cc' \) ! -name '*_test.cc' | sort)
done
exit $status
