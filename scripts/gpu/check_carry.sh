#!/usr/bin/env bash
# Before a session's calls: what each call would carry (the tracked tree plus its folders) against
# the device tool's 64 MiB. A call over it is refused after the machine has started (the
# thirty-first run), so this says so first; when any is over, run prepare_carry.sh again.
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=$(( 64 * 1024 * 1024 ))
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
over=0
for call in ".whl1 .devpkgs" .whl .whl[0-9]* .piper[0-9]* .init[0-9]*; do
    [ "$call" = .whl1 ] && continue  # carried with .devpkgs
    # shellcheck disable=SC2086  # a call's folders are words
    ls -d $call > /dev/null 2>&1 || continue
    total=$(( tree + $(du -cb $call | tail -1 | cut -f1) ))
    awk -v c="$call" -v t="$total" -v l="$limit" 'BEGIN { printf "%-16s %5.1f MiB%s\n", c, t / 1048576, (t > l ? "  OVER" : "") }'
    [ $total -gt $limit ] && over=1
done
[ $over = 0 ] || { echo "a call is over 64 MiB: run scripts/gpu/prepare_carry.sh again" >&2; exit 1; }
