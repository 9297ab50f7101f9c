#!/usr/bin/env bash
# Set-up for a fresh Debian machine: MariaDB server binaries (when no mariadbd/mysqld is found),
# and a virtualenv in .venv with the project and its test tools. Safe to run again: it only adds
# what is missing. Sourced by test.sh and example.sh; prints what it did in one line each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sudo_=""
if [ "$(id -u)" -ne 0 ]; then sudo_="sudo"; fi

apt_install() {
  echo "setup: installing $* with apt-get"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_mariadb() {
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || command -v mysqld >/dev/null \
    || [ -x /usr/sbin/mysqld ]
}
if ! have_mariadb; then apt_install mariadb-server mariadb-client; fi

if [ ! -x "$root/.venv/bin/python" ]; then
  if ! python3 -m venv "$root/.venv" >/dev/null 2>&1; then
    apt_install python3-venv python3-pip
    python3 -m venv "$root/.venv"
  fi
  echo "setup: created $root/.venv"
fi
# pip install only when pyproject.toml or the version changed since the last install (the
# install is editable: code changes need none); the stamp records what was installed.
stamp="$root/.venv/.moclone-setup"
want="$(cat "$root/pyproject.toml" "$root/pytest_moclone/__init__.py" | sha256sum | cut -d' ' -f1)"
installed="$("$root/.venv/bin/python" -I -c 'import importlib.metadata as m; print(m.version("pytest-moclone"))' 2>/dev/null || true)"
if [ -n "$installed" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: pytest-moclone $installed already installed in .venv (pyproject.toml unchanged)"
else
  if [ -z "$installed" ]; then
    echo "setup: installing Python packages into .venv (first time: ~30 s)"
  else
    echo "setup: pyproject.toml or the version changed: updating the packages in .venv"
  fi
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check -e "$root[dev,docker]"
  echo "$want" >"$stamp"
  echo "setup: $("$root/.venv/bin/python" -c 'import pytest_moclone as m; print("pytest-moclone", m.__version__)') installed in .venv"
fi
