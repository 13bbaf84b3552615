#!/usr/bin/env bash
# Runs clang-tidy (the repository's .clang-tidy) over the C++ sources changed since a baseline
# commit, and fails on any finding in them. Findings in files that did not change are not shown.
#   tools/tidy_changed.sh              # changed since the commit in .ci/tidy-baseline
#   tools/tidy_changed.sh <commit>     # changed since <commit>
#   tools/tidy_changed.sh --all        # every source (slow: ~120 translation units)
# "Changed" is `git diff <baseline>`: committed or not, added or modified, not deleted. A changed
# .cc is linted as its own translation unit; a changed header through the .cc files beside it
# (foo.h: foo.cc, foo_test.cc), or, when there is none, the first .cc that includes it.
# Compile commands come from Bazel (tools/compile_commands.py). CONNMGR_TIDY_JOBS sets the
# number of clang-tidy processes (default 2).
set -uo pipefail
cd "$(dirname "$0")/.."

baseline=${1:-$(tr -d '[:space:]' <.ci/tidy-baseline)}
sources=(-- '*.h' '*.cc' ':!:third_party/**' ':!:interop/js/**')
if [[ $baseline == --all ]]; then
  mapfile -t changed < <(git ls-files "${sources[@]}")
else
  if ! git cat-file -e "$baseline^{commit}" 2>/dev/null; then
    echo "tidy: baseline $baseline is not in this clone's history (shallow clone?)" >&2
    exit 1
  fi
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$baseline" "${sources[@]}")
fi
if ((${#changed[@]} == 0)); then
  echo "tidy: no C++ source changed since $baseline"
  exit 0
fi

db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
tools/compile_commands.py -o "$db" >/dev/null || exit 1
mapfile -t known < <(python3 -c 'import json, sys
for e in json.load(open(sys.argv[1])): print(e["file"])' "$db/compile_commands.json")
is_known() {
  local f
  for f in "${known[@]}"; do [[ $f == "$1" ]] && return 0; done
  return 1
}

units=()
for file in "${changed[@]}"; do
  if [[ $file == *.cc ]]; then
    is_known "$file" && units+=("$file")
    continue
  fi
  stem=${file%.h}
  found=0
  for unit in "$stem.cc" "${stem}_test.cc"; do
    if is_known "$unit"; then
      units+=("$unit")
      found=1
    fi
  done
  if ((!found)); then
    includer=$(grep -lF "#include \"$file\"" "${known[@]}" 2>/dev/null | head -1)
    [[ -n $includer ]] && units+=("$includer")
  fi
done
mapfile -t units < <(printf '%s\n' "${units[@]}" | sort -u)

# Only findings located in a changed file count (whole files, not just the changed lines).
filter=$(printf '{"name":"%s"},' "${changed[@]}")
filter="[${filter%,}]"
echo "tidy: ${#changed[@]} changed file(s) since ${baseline:0:12}, ${#units[@]} translation unit(s)"
log=$(mktemp)
printf '%s\n' "${units[@]}" |
  xargs -P "${CONNMGR_TIDY_JOBS:-2}" -I{} \
    clang-tidy -p "$db" --quiet --warnings-as-errors='*' --line-filter="$filter" {} >"$log" 2>&1
result=$?
grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log"
rm -f "$log"
if ((result != 0)); then
  echo "tidy: FAILED: findings above (fix them, or suppress a false positive with NOLINT(check)"
  echo "      and a comment saying why)"
  exit 1
fi
echo "tidy: no findings"
