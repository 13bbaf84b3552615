#!/usr/bin/env bash
# //:tour: replays the bundled tour trace as a readable timeline (the replay tool's --human).
set -euo pipefail
exec "$1" --human "$2"
