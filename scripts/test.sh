#!/usr/bin/env bash
# The test command (README): set-up, then one pass of the whole suite on one server.
#   scripts/test.sh                 -> the private MariaDB the plugin starts (the default)
#   MOCLONE_MO_BINARY=... scripts/test.sh   -> a private MatrixOne from that mo-service
#   MOCLONE_URL=... scripts/test.sh         -> a running server (MatrixOne, MariaDB or MySQL)
# Extra arguments go to pytest (e.g. a subset of tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$root"
if [ -n "${MOCLONE_URL:-}" ]; then
  echo "pass: the server at MOCLONE_URL"
elif [ -n "${MOCLONE_MO_BINARY:-}" ]; then
  echo "pass: a private MatrixOne from $MOCLONE_MO_BINARY"
else
  echo "pass: the private MariaDB (MatrixOne pass not run: set MOCLONE_MO_BINARY to a mo-service, e.g. from ../shared/matrixone/, to run it)"
fi
exec "$root/.venv/bin/python" -m pytest -n 2 -p no:cacheprovider "$@"
