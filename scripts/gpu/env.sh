# Sourced by every stage: where the carried packages were installed on the GPU machine.
export PYTHONPATH=/tmp/site:$PWD
export PATH=/tmp/espeak/usr/bin:$PATH
export LD_LIBRARY_PATH=/tmp/espeak/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export ESPEAK_DATA_PATH=/tmp/espeak/usr/lib/x86_64-linux-gnu/espeak-ng-data
export PYTHONUNBUFFERED=1
CORPUS=${CORPUS:-/tmp/corpus}
RUNS=${RUNS:-/tmp/runs}
