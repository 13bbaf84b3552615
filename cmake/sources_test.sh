#!/usr/bin/env bash
# The CMake source lists (CONNMGR_CORE_SOURCES, CONNMGR_TRACE_SOURCES, CONNMGR_SHELL_SOURCES in
# CMakeLists.txt) must hold exactly the srcs and hdrs of the Bazel libraries they mirror (the
# genquery //cmake:bazel_sources): core/, trace/ and shell/ files respectively.
# Usage: sources_test.sh BAZEL_SOURCES CMAKELISTS
set -uo pipefail
bazel_sources=$1
cmakelists=$2
failures=0

# The files of one set(NAME ...) block of CMakeLists.txt, one per line, sorted.
cmake_list() {
  awk -v name="$1" '
    $0 ~ "^set\\(" name "$" { inside = 1; next }
    inside && /^\)/ { inside = 0 }
    inside { gsub(/^[ \t]+|[ \t]+$/, ""); if ($0 != "" && $0 !~ /^#/) print }
  ' "$cmakelists" | sort
}

# The Bazel files under DIR/ ("//core:x.cc" -> "core/x.cc", "//shell/noise:y.h" -> ...).
bazel_list() {
  sed -E 's|^//||; s|:|/|' "$bazel_sources" | grep -E "^$1/" | sort
}

for pair in core:CONNMGR_CORE_SOURCES trace:CONNMGR_TRACE_SOURCES shell:CONNMGR_SHELL_SOURCES; do
  dir=${pair%%:*}
  list=${pair#*:}
  cmake=$(cmake_list "$list")
  bazel=$(bazel_list "$dir")
  if [[ -z $cmake ]]; then
    echo "CMakeLists.txt: no set($list ...) block, or it is empty"
    failures=$((failures + 1))
    continue
  fi
  while read -r file; do
    [[ -z $file ]] && continue
    echo "$file: in the Bazel build (//$dir) but missing from $list in CMakeLists.txt"
    failures=$((failures + 1))
  done < <(comm -23 <(echo "$bazel") <(echo "$cmake"))
  while read -r file; do
    [[ -z $file ]] && continue
    echo "$file: in $list in CMakeLists.txt but in no Bazel library it mirrors" \
      "(cmake/BUILD.bazel lists them); remove it or add it to a BUILD file"
    failures=$((failures + 1))
  done < <(comm -13 <(echo "$bazel") <(echo "$cmake"))
  echo "$list: $(echo "$cmake" | wc -l) files checked"
done

if ((failures)); then
  echo "$failures difference(s) between CMakeLists.txt and the Bazel build"
  exit 1
fi
