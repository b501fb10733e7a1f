#!/usr/bin/env bash
# Follow the background trainings for up to $1 seconds; once all have finished, return each exported
# model as 15 MB parts under $OUT/FAMILY/.
set -uo pipefail
source scripts/gpu/env.sh
end=$((SECONDS + ${1:-540}))
while [ $SECONDS -lt $end ]; do
    running=$(pgrep -fc "python3 -m [w]orkbench.cli train")
    [ "$running" -eq 0 ] && break
    sleep 20
done
for log in /tmp/paraformer.log /tmp/nano.log; do
    [ -f "$log" ] && { echo "== $log"; grep -v '^ *$' "$log" | awk 'NR % 5 == 1' | tail -n 4 | cut -c1-300; tail -n 2 "$log" | cut -c1-300; }
done
for family in paraformer nano; do
    if [ -f "$RUNS/$family.done" ] && [ -d "$RUNS/$family/model" ]; then
        mkdir -p "$OUT/$family"
        (cd "$RUNS/$family/model" && tar cf - .) | gzip -1 | split -b 15m - "$OUT/$family/model.tgz.part."
        ls -la "$OUT/$family"
    fi
done
