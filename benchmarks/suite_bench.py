"""Whole-suite wall time, and time to the first test with and without --mo-reuse.

    python benchmarks/suite_bench.py                    # private servers the plugin starts
    python benchmarks/suite_bench.py --url mysql://root@127.0.0.1:3306/
    python benchmarks/suite_bench.py --mo-binary /path/to/mo-service --tests 40
    python benchmarks/suite_bench.py --rows 1000000 --tests 40 --file-copy

A generated suite of N tests, each on its own clone of a 20-table golden (benchmarks/golden.py),
each doing a small read and write, run through ``python -m pytest`` as a user would. Run by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from golden import fill

def pytest_moclone_setup_golden(client):
    fill(client, ROWS)
"""

TESTS = """
import os, time, pytest

@pytest.mark.parametrize("n", range({tests}))
def test_small_read_and_write(mo_clone_db, n):
    marker = os.environ.get("BENCH_FIRST_TEST")
    if marker and not os.path.exists(marker):
        open(marker, "w").write(repr(time.time()))
    assert mo_clone_db.execute("SELECT COUNT(*) FROM t00")[0][0] > 0
    mo_clone_db.execute("UPDATE t03 SET amount = amount + 1 WHERE id = %s", (n % 50 + 1,))
"""


def run(folder: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(wall seconds, seconds to the first test, last lines of output)."""
    marker = folder / f"first-{time.time_ns()}"
    env = {**env, "BENCH_FIRST_TEST": str(marker)}
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.time() - started
    first = float(marker.read_text()) - started if marker.exists() else float("nan")
    tail = "\n".join(done.stdout.strip().splitlines()[-6:])
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:])
    return wall, first, tail


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url")
    parser.add_argument("--mo-binary")
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--reuse-only", action="store_true", help="only the --mo-reuse figures")
    parser.add_argument(
        "--file-copy", action="store_true", help="also each run with --mo-no-file-copy"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="moclone-suite-"))
    (folder / "conftest.py").write_text(f"ROWS = {args.rows}\n" + CONFTEST)
    (folder / "test_suite.py").write_text(TESTS.format(tests=args.tests))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCLONE_")}
    env["MOCLONE_CACHE_DIR"] = str(folder / "cache")
    if args.url:
        env["MOCLONE_URL"] = args.url
    if args.mo_binary:
        env["MOCLONE_MO_BINARY"] = args.mo_binary
    print(
        f"{args.tests} tests, golden of 20 tables and {args.rows:,} rows; server: "
        f"{args.url or args.mo_binary or 'a private MariaDB per run'}"
    )
    print(f"\n{'run':<34}{'wall s':>8}{'first test s':>14}")
    for label, extra in (
        ()
        if args.reuse_only
        else (
            ("pool (default), serial", []),
            ("no pool, serial", ["--mo-pool=0"]),
            ("pool (default), -n 2", ["-n", "2"]),
            ("no pool, -n 2", ["-n", "2", "--mo-pool=0"]),
        )
    ) + (
        (
            ("pool, serial, no file copy", ["--mo-no-file-copy"]),
            ("pool, -n 2, no file copy", ["-n", "2", "--mo-no-file-copy"]),
        )
        if args.file_copy and not args.reuse_only
        else ()
    ):
        wall, first, _ = run(folder, env, *extra)
        print(f"{label:<34}{wall:>8.2f}{first:>14.2f}")
    print()
    cold = run(folder, env, "--mo-reuse", "--mo-rebuild", "-k", "test_small_read_and_write[0]")
    warm = run(folder, env, "--mo-reuse", "-k", "test_small_read_and_write[0]")
    for label, (wall, first, _) in (
        ("--mo-reuse, cold (builds)", cold),
        ("--mo-reuse, second run (reuses)", warm),
    ):
        print(f"{label:<34}{wall:>8.2f}{first:>14.2f}")
    ratio = warm[1] / cold[1]
    print(
        f"\n{'PASS' if ratio < 0.5 else 'MISS'}  the second --mo-reuse run reaches its first test "
        f"in {ratio:.0%} of the cold run's time (target: under half)"
    )
    print(f"(suite and cache in {folder})")


if __name__ == "__main__":
    main()
