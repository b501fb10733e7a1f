#!/usr/bin/env bash
# Follow the background trainings for up to $1 seconds (returning early once none is running) and
# show every log's progress; then return the exported models of the finished runs named in RETURN
# (default: none) as 15 MB parts under $OUT/NAME/, and the benchmark results so far.
set -uo pipefail
source scripts/gpu/env.sh
end=$((SECONDS + ${1:-540}))
while [ $SECONDS -lt $end ]; do
    # A chain (chain.sh) is running between its trainings too.
    running=$(( $(pgrep -fc "python3 -m [w]orkbench.cli train") + $(pgrep -fc "[s]cripts/gpu/chain.sh") ))
    [ "$running" -eq 0 ] && break
    # Never past the deadline: a call given 585 s with a 600 s limit overran by a last full
    # sleep and came back empty (rc 124) in the eighteenth run.
    sleep $(( end - SECONDS < 20 ? end - SECONDS : 20 ))
done
for log in /tmp/*.log; do
    case $log in /tmp/mat-debug-*) continue ;; esac  # the image's telemetry, one log per process
    echo "== $log"; grep -v '^ *$' "$log" | awk 'NR % 5 == 1' | tail -n 4 | cut -c1-300; tail -n 2 "$log" | cut -c1-300
done
[ -f /tmp/bench/results.jsonl ] && cp /tmp/bench/results.jsonl "$OUT/bench_results.jsonl"
for name in ${RETURN:-}; do
    if [ -f "$RUNS/$name.done" ] && [ -d "$RUNS/$name/model" ]; then
        mkdir -p "$OUT/$name"
        (cd "$RUNS/$name/model" && tar cf - .) | gzip -1 | split -b 15m - "$OUT/$name/model.tgz.part."
        ls -la "$OUT/$name"
    fi
done
