#!/usr/bin/env bash
# Install the workbench with the app extra and start the app on the bundled demo models.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[app]"
if [ ! -f app.py ]; then
    echo "The app (issue #5) and the bundled demo models (issue #4) are not built yet." >&2
    echo "Meanwhile: .venv/bin/workbench --help" >&2
    exit 1
fi
exec .venv/bin/python app.py "$@"
