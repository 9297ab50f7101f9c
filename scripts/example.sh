#!/usr/bin/env bash
# The main job (README): set-up, then the example suite (examples/, golden from
# conftest_example.py) on the embedded default server, with the plugin's summary at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$root"
exec "$root/.venv/bin/python" -m pytest -p no:cacheprovider "$@" examples
