"""``python -m pytest_moclone``: list and reap on the suite's server, by the plugin's rules."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

from conftest import MakeName

from pytest_moclone import Client
from pytest_moclone.connection import Connection
from pytest_moclone.records import KEPT
from pytest_moclone.registry import DATABASE, Registry


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_moclone", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _dead_run_with(admin: Client, name: str) -> str:
    """A run that kept ``name`` for a failed test and then died: its lease's connection closed,
    and its heartbeat (made old here) is past the grace. Kept, so that only a person's reap (or
    a run of its prefix, ``t``) drops it: the suite's other runs reap dead runs too."""
    c = admin.connection
    run = "c" + uuid.uuid4().hex[:9]
    reg = Registry(lambda: Connection(c.host, c.port, c.user, c.password), run, "main")
    reg.open(heartbeat=False)
    reg.claim(DATABASE, name)
    reg.mark(DATABASE, name, KEPT)
    admin.execute(
        "UPDATE `__moclone_registry`.`leases` SET `heartbeat` = "
        "date_sub(now(6), interval 60 second) WHERE `run_id` = %s",
        (run,),
    )
    admin.execute(f"KILL {int(reg.conn_id or 0)}")  # it dies without ending its lease
    return run


def test_list_and_reap_by_the_plugins_rules(
    admin: Client, server_url: str, fresh_name: MakeName
) -> None:
    left, decoy = fresh_name("left"), fresh_name("decoy")
    admin.execute(f"CREATE DATABASE {left}")
    admin.execute(f"CREATE DATABASE {decoy}")  # named like ours, never claimed
    run = _dead_run_with(admin, left)
    deadline = time.monotonic() + 30  # KILL takes effect when the server thread wakes
    while True:
        listed = _cli("list", "--url", server_url)
        assert listed.returncode == 0, listed.stderr
        if f"run {run}: dead" in listed.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert f"run {run}: dead" in listed.stdout, listed.stdout
    assert f"database {left} (kept" in listed.stdout
    dry = _cli("reap", "--dry-run", "--url", server_url)
    assert f"would drop database {left} (run {run}, dead)" in dry.stdout, dry.stdout
    names = {
        str(r[0]) for r in admin.execute("SELECT schema_name FROM information_schema.schemata")
    }
    assert left in names  # a dry run drops nothing
    reaped = _cli("reap", "--url", server_url)
    assert f"dropped database {left} (run {run}, dead)" in reaped.stdout, reaped.stdout
    names = {
        str(r[0]) for r in admin.execute("SELECT schema_name FROM information_schema.schemata")
    }
    assert left not in names and decoy in names
    assert run not in _cli("list", "--url", server_url).stdout  # its lease is forgotten too
    password = urlsplit(server_url).password
    for out in (listed.stdout, dry.stdout, reaped.stdout):
        assert not password or password not in out.replace("***", "")
    admin.execute(f"CREATE DATABASE {left}")  # for fresh_name's clean-up


def test_a_bad_url_is_one_line_without_the_password() -> None:
    result = _cli("list", "--url", "mysql://u:sekret@127.0.0.1:1/")
    assert result.returncode == 1
    assert "sekret" not in result.stdout + result.stderr
    assert result.stderr.startswith("pytest-moclone: cannot connect to 127.0.0.1:1")
    assert "Traceback" not in result.stderr
