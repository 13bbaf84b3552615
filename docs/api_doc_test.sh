#!/usr/bin/env bash
# docs/api.md indexes every public header: the hdrs of the libraries an embedder links (the
# genquery //cmake:bazel_sources), no more, no less.
# Usage: api_doc_test.sh BAZEL_SOURCES API_MD
set -uo pipefail
failures=0
headers=$(sed -E 's|^//||; s|:|/|' "$1" | grep -E '^(core|trace|shell)/.*\.h$' | sort)
listed=$(grep -oE '^\| \[[^]]+\]' "$2" | sed -E 's/^\| \[//; s/\]$//' | sort)
while read -r h; do
  [[ -n $h ]] && { echo "$h: a public header missing from docs/api.md"; failures=$((failures + 1)); }
done < <(comm -23 <(echo "$headers") <(echo "$listed"))
while read -r h; do
  [[ -n $h ]] && { echo "$h: in docs/api.md but not a header of the libraries"; failures=$((failures + 1)); }
done < <(comm -13 <(echo "$headers") <(echo "$listed"))
echo "$(echo "$headers" | wc -l) headers checked"
((failures == 0))
