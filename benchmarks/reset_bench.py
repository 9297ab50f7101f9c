"""Overhead per test of each way to isolate tests, for goldens of N tables (issue: speed).

For goldens of N small tables and tests of ~100 ms that change K tables each, runs the same inner
suite four ways. A hook in the inner suite times every test's call; a test's overhead is the gap
between the end of one test's call and the start of the next one's (the teardown of one database
and the set-up of the next, plus pytest's own work), plus how much longer its call took than the
floor's (a busy background pool slows the test down on a 2-core machine). Medians over all tests
of ``--repeat`` runs; the fixed costs of a run (a server, the golden, the first clones) are not in
any gap. Printed per mode: the median gap and the overhead per test against the first mode, then
the ratios of the full clone's overhead to the reset's and the rollback's:

    shared    every test on one database, no isolation (mo_worker_db): the floor
    rollback  mo_txn_db: one database, each test inside a transaction rolled back after it
    reset     mo_clone_db, recycled: kept when unchanged, changed tables reset (the default)
    fresh     mo_clone_db with --mo-no-reset: a fresh clone per test, dropped after it

MariaDB: each inner run starts its own private server (the change signals need its data folder).
MatrixOne: ``--url`` of a running server, or ``--mo-binary`` to start a private one here. By hand:

    python benchmarks/reset_bench.py --tables 20,100,300 --changes 0,1,5 --tests 20
    python benchmarks/reset_bench.py --mo-binary .../mo-service --tables 20,300 --changes 0,1
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CONFTEST = """
import json, os, time
import pytest

def pytest_moclone_setup_golden(client):
    client.execute_script([
        f"CREATE TABLE t{{i}} (id INT PRIMARY KEY AUTO_INCREMENT, v INT, s VARCHAR(20))"
        for i in range({tables})
    ])
    client.execute_script([
        f"INSERT INTO t{{i}} (v, s) VALUES (1, 'a'), (2, 'b'), (3, 'c')" for i in range({tables})
    ])

CALLS = []

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    started = time.perf_counter()
    yield
    CALLS.append((started, time.perf_counter()))

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_CALLS"], "w") as out:
        json.dump(CALLS, out)

@pytest.fixture
def db(request):
    mode = {mode!r}
    if mode == "shared":
        yield request.getfixturevalue("mo_worker_db")
    elif mode == "rollback":
        yield request.getfixturevalue("mo_txn_db")
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


def run_suite(
    mode: str, tables: int, changes: int, tests: int, env: dict[str, str]
) -> tuple[list[float], list[float], str]:
    """The gaps between tests' calls, the calls' durations, and the summary's readiness line."""
    with tempfile.TemporaryDirectory(prefix="moclone-reset-bench-") as folder:
        root = Path(folder)
        env = {**env, "BENCH_CALLS": str(root / "calls.json")}
        if mode == "shared":
            env["MOCLONE_POOL"] = "0"  # mo_worker_db uses no pool
        (root / "conftest.py").write_text(CONFTEST.format(tables=tables, mode=mode))
        (root / "test_bench.py").write_text(
            TESTS.format(tables=tables, changes=changes, tests=tests)
        )
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        if mode == "fresh":
            args.append("--mo-no-reset")
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        calls = json.loads((root / "calls.json").read_text())
        summary = [line for line in done.stdout.splitlines() if line.startswith("databases for")]
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(calls)]
        return gaps, [end - start for start, end in calls], (summary or [""])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="20,100,300")
    parser.add_argument("--changes", default="0,1,5")
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per point; medians used")
    parser.add_argument("--modes", default="shared,rollback,reset,fresh")
    parser.add_argument("--url", help="a running MatrixOne (or other) server")
    parser.add_argument("--mo-binary", help="start a private MatrixOne from this mo-service")
    parser.add_argument("--pool-workers", help="MOCLONE_POOL_WORKERS for the inner runs")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each run's summary")
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
    if options.pool_workers:
        env["MOCLONE_POOL_WORKERS"] = options.pool_workers
    modes = options.modes.split(",")
    ratios = [
        (a, b) for a, b in (("fresh", "reset"), ("fresh", "rollback")) if {a, b} <= set(modes)
    ]
    print(f"median gap between tests / overhead per test against {modes[0]}, ms")
    print(
        f"{'tables':>6} {'changed':>7} "
        + " ".join(f"{m:>17}" for m in modes)
        + "".join(f" {a + '/' + b:>15}" for a, b in ratios)
    )
    try:
        for tables in map(int, options.tables.split(",")):
            for changes in map(int, options.changes.split(",")):
                gap, call = {}, {}
                for m in modes:
                    gaps: list[float] = []
                    calls: list[float] = []
                    for _ in range(options.repeat):
                        g, c, line = run_suite(m, tables, changes, options.tests, env)
                        gaps += g
                        calls += c
                        if options.verbose:
                            print(f"      {m}: {line}")
                    gap[m], call[m] = statistics.median(gaps), statistics.median(calls)
                floor = gap[modes[0]] + call[modes[0]]
                over = {m: (gap[m] + call[m] - floor) * 1000 for m in modes}
                cells = [f"{gap[m] * 1000:7.1f} {over[m]:+8.1f}" for m in modes]
                shown = [
                    f"{over[a] / over[b]:14.1f}x" if over[b] > 0.5 else f"{'(~0 ms)':>15}"
                    for a, b in ratios
                ]
                print(
                    f"{tables:>6} {changes:>7} "
                    + " ".join(f"{c:>17}" for c in cells)
                    + "".join(f" {r}" for r in shown),
                    flush=True,
                )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
