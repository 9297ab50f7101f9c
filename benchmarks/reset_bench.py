"""Whole-run overhead per test when tests' databases are recycled (kept / tables reset).

For goldens of N small tables and tests of ~100 ms that change K tables each, runs the same inner
suite four ways, each with ``--tests`` tests and with a quarter as many, and prints the wall time
of the longer run and the overhead of one more test (the slope between the two runs) against the
first way's; the fixed costs (a server, the golden, the first clones) are left out that way:

    shared    every test on one database, no isolation (mo_worker_db): the floor
    rollback  one database, each test inside a transaction rolled back after it (not exact)
    reset     mo_clone_db, recycled: kept when unchanged, changed tables reset (the default)
    fresh     mo_clone_db with --mo-no-reset: a fresh clone per test, dropped after it

MariaDB: each inner run starts its own private server (the change signals need its data folder;
its start-up is in every mode alike). MatrixOne: ``--url`` of a running server, or ``--mo-binary``
to start a private one here. Run by hand:

    python benchmarks/reset_bench.py --tables 20,300 --changes 0,1,5 --tests 20
    python benchmarks/reset_bench.py --mo-binary .../mo-service --tables 20,300 --changes 0,1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFTEST = """
import pytest

def pytest_moclone_setup_golden(client):
    client.execute_script([
        f"CREATE TABLE t{{i}} (id INT PRIMARY KEY AUTO_INCREMENT, v INT, s VARCHAR(20))"
        for i in range({tables})
    ])
    client.execute_script([
        f"INSERT INTO t{{i}} (v, s) VALUES (1, 'a'), (2, 'b'), (3, 'c')" for i in range({tables})
    ])

@pytest.fixture
def db(request, mo_worker_db):
    mode = {mode!r}
    if mode == "shared":
        yield mo_worker_db
    elif mode == "rollback":
        mo_worker_db.execute("BEGIN")
        yield mo_worker_db
        mo_worker_db.execute("ROLLBACK")
    else:
        yield request.getfixturevalue("mo_clone_db")
"""

TESTS = """
import time

def make(n):
    def test(db):
        for k in range({changes}):
            db.execute(f"UPDATE t{{(n + k) % {tables}}} SET v = v + 1 WHERE id = 1")
        time.sleep(0.1)
    return test

for n in range({tests}):
    globals()[f"test_{{n}}"] = make(n)
"""


def run_suite(mode: str, tables: int, changes: int, tests: int, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="moclone-reset-bench-") as folder:
        root = Path(folder)
        if mode != "fresh" and mode != "reset":
            env = {**env, "MOCLONE_POOL": "0"}  # no pool: only mo_worker_db is used
        (root / "conftest.py").write_text(CONFTEST.format(tables=tables, mode=mode))
        (root / "test_bench.py").write_text(
            TESTS.format(tables=tables, changes=changes, tests=tests)
        )
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        if mode == "fresh":
            args.append("--mo-no-reset")
        started = time.perf_counter()
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        summary = [line for line in done.stdout.splitlines() if line.startswith("databases for")]
        if summary:
            print(f"      {mode}: {summary[0]}")
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="20,100,300")
    parser.add_argument("--changes", default="0,1,5")
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--modes", default="shared,rollback,reset,fresh")
    parser.add_argument("--url", help="a running MatrixOne (or other) server")
    parser.add_argument("--mo-binary", help="start a private MatrixOne from this mo-service")
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCLONE_")}
    server = None
    if options.mo_binary:
        from pytest_moclone.leases import new_run_id
        from pytest_moclone.servers.matrixone import start_matrixone

        server = start_matrixone(Path(options.mo_binary), owner_run_id=new_run_id())
        options.url = server.url
    if options.url:
        env["MOCLONE_URL"] = options.url
    else:
        env["MOCLONE_SERVER"] = "mariadb"
    try:
        modes = options.modes.split(",")
        print(f"{'tables':>6} {'changed':>7} " + " ".join(f"{m:>18}" for m in modes))
        for tables in map(int, options.tables.split(",")):
            for changes in map(int, options.changes.split(",")):
                few = max(1, options.tests // 4)
                walls, slopes = {}, {}
                for m in modes:
                    small = run_suite(m, tables, changes, few, env)
                    walls[m] = run_suite(m, tables, changes, options.tests, env)
                    slopes[m] = (walls[m] - small) / (options.tests - few)
                cells = []
                for m in modes:  # the marginal cost of one more test, against the floor's
                    per_test = (slopes[m] - slopes[modes[0]]) * 1000
                    cells.append(f"{walls[m]:6.1f} s {per_test:+7.1f} ms")
                print(f"{tables:>6} {changes:>7} " + " ".join(f"{c:>18}" for c in cells))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
