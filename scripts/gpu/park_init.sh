#!/usr/bin/env bash
# Before stage 3 (carry DIR, once per part, .init1 ... from pack_init.sh): park a part of the
# model a training starts from; stage3_start.sh unpacks the parts into /tmp/init.
set -euo pipefail
mkdir -p /tmp/initparts
cp "$1"/init.tgz.* /tmp/initparts/
ls /tmp/initparts
