#!/usr/bin/env bash
# Fails if a non-test source under the given directories reaches outside what it may use, and
# prints each offending line with the rule it breaks.
#   tools/check_core_purity.sh core                        # the decision core: abseil only
#   tools/check_core_purity.sh --codec shell/mux shell/noise  # sans-I/O wire codecs
# The core may not use I/O, sockets or system network headers (address text is core/ip's own),
# clocks, threads, ambient randomness, the environment, or Boost. A codec is bytes in, bytes and
# events out: no sockets, no Asio (Boost), no clocks, no threads, no files or console; it may use
# libsodium, whose key generation draws from the operating system.
set -uo pipefail

inc='#include[[:space:]]*<'
# Rules of both kinds: name, then an extended regular expression.
rules=(
  "Boost (Asio)" "${inc}boost/"
  "threads" "${inc}(thread|mutex|shared_mutex|atomic|future|condition_variable|semaphore|stop_token|pthread\.h)>"
  "clocks" "${inc}(chrono|ctime|time\.h)>|(steady_clock|system_clock|high_resolution_clock)::now|absl::Now\(|absl/time/clock\.h|clock_gettime|gettimeofday|[^_a-zA-Z]time\(nullptr\)"
  "sockets and system headers" "${inc}(sys/|netinet/|arpa/|netdb\.h|unistd\.h|fcntl\.h|poll\.h|ares\.h)"
  "files and console" "${inc}(fstream|iostream|cstdio|stdio\.h|filesystem)>|fopen\(|std::cout|std::cerr|printf\(|getenv\("
)
core_rules=(
  "ambient randomness" "${inc}(random|sodium\.h)>|random_device|std::rand\(|[^_a-zA-Z]rand\(\)|absl/random/|randombytes"
)

mode=core
if [[ ${1:-} == --codec ]]; then
  mode=codec
  shift
fi
[[ $mode == core ]] && rules+=("${core_rules[@]}")

status=0
for dir in "$@"; do
  if [[ ! -d $dir ]]; then
    echo "$dir: no such directory" >&2
    status=1
    continue
  fi
  while IFS= read -r file; do
    for ((i = 0; i < ${#rules[@]}; i += 2)); do
      if hits=$(grep -nE "${rules[i + 1]}" "$file"); then
        echo "$file: $mode may not use ${rules[i]}:" >&2
        echo "$hits" | sed 's/^/  /' >&2
        status=1
      fi
    done
  done < <(find "$dir" \( -name '*.h' -o -name '*.cc' \) ! -name '*_test.cc' |
           sort)
done
exit $status
