#!/usr/bin/env bash
# Pack, here, a model that a GPU training starts from (X_INIT) into the git-ignored folders
# .init1, .init2, ...: a call carries the working tree (about 48 MB) and at most 64 MiB in all,
# so a model (21 MB) cannot travel beside .whl (the twenty-fifth run lost a lease so). Park each
# part with park_init.sh before stage 3, which unpacks them: then X_INIT=/tmp/init/NAME.
set -euo pipefail
model=$(realpath "${1:?the exported model folder to pack}")
[ -f "$model/config.json" ] || { echo "$model has no config.json: not an exported model" >&2; exit 1; }
cd "$(dirname "$0")/../.."
PART=${PART:-11500000}
grep -qxF '/.init*/' .git/info/exclude 2>/dev/null || echo '/.init*/' >> .git/info/exclude
rm -rf .init[0-9]*
tmp=$(mktemp -d)
tar czf - -C "$(dirname "$model")" "$(basename "$model")" | split -b "$PART" - "$tmp/init.tgz."
n=0
for part in "$tmp"/init.tgz.*; do
    n=$((n + 1))
    mkdir -p ".init$n" && mv "$part" ".init$n/"
done
rmdir "$tmp"
echo "$(basename "$model"): $n parts; park each with 'bash scripts/gpu/park_init.sh .initN' (carry .initN)," \
     "then X_INIT=/tmp/init/$(basename "$model")"
