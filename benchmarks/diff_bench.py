"""How long the failure diff takes: a golden of ~1 M rows, a clone in which a test touched three
rows, and ``client.clone.diff`` timed (median of --reps). Run by hand, never in CI:

    python benchmarks/diff_bench.py [--url mysql://root@127.0.0.1:3306/] [--rows 1000000]

Without ``--url`` it starts a private MariaDB (whose clones of large tables are file copies).

``--one-table`` puts all the rows in one table instead of 20 (built by one INSERT ... SELECT from a
cross join of a digits table, so it runs the same on every server), and the test touches that
table: the worst case for the SQL comparison, which must find three rows among 1 M.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from golden import build, touch

from pytest_moclone import Client


def build_one_table(client: Client, database: str, rows: int) -> None:
    """``big``: ``rows`` rows (at most 1 M) with an integer key, text, a decimal and a date."""
    client.execute(f"CREATE DATABASE `{database}`")
    with client.connect_to(database) as db:
        db.execute("CREATE TABLE digits (d INT PRIMARY KEY)")
        db.execute("INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
        db.execute(
            "CREATE TABLE big (id INT PRIMARY KEY, a INT, b VARCHAR(40), c DECIMAL(10, 2), d DATE)"
        )
        number = "d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d + 100000 * d6.d"
        db.execute(
            f"INSERT INTO big SELECT {number}, d1.d * 7, CONCAT('row-', d2.d, d3.d, d4.d), "
            "d6.d + 0.5, '2026-01-01' FROM digits d1, digits d2, digits d3, digits d4, "
            f"digits d5, digits d6 WHERE {number} < {rows}"
        )


def touch_one_table(client: Client, database: str) -> None:
    """One insert, one update, one delete, far apart in the key's range."""
    client.execute(f"INSERT INTO `{database}`.big VALUES (2000000, 1, 'new', 1, '2026-02-02')")
    client.execute(f"UPDATE `{database}`.big SET a = -1 WHERE id = 500000")
    client.execute(f"DELETE FROM `{database}`.big WHERE id = 7")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a running server; default: start a private MariaDB")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--one-table", action="store_true", help="all rows in one table")
    args = parser.parse_args()
    make_golden, touch_copy = (build, touch)
    if args.one_table:
        make_golden, touch_copy = build_one_table, touch_one_table
    server = None
    if args.url is None:
        from pytest_moclone.leases import new_run_id
        from pytest_moclone.servers.mariadb import start_mariadb

        server = start_mariadb(owner_run_id=new_run_id())
        client = Client.from_url(server.url, datadir=server.own_datadir)
    else:
        client = Client.from_url(args.url)
    tag = uuid.uuid4().hex[:6]
    golden, snap = f"bench_golden_{tag}", f"bench_snap_{tag}"
    made: list[str] = [golden]
    try:
        started = time.perf_counter()
        make_golden(client, golden, args.rows)
        client.snapshots.create(snap, database=golden)
        print(
            f"{client.info.describe()}: golden of {args.rows} rows built in "
            f"{time.perf_counter() - started:.1f} s"
        )
        kinds = [("clone", client.clone.clone_database)]
        if client.clone.lineage_diff:
            kinds.append(("branch", client.clone.branch_database))
        for kind, make in kinds:
            for touched in (False, True):
                copy = f"bench_{kind}_{tag}_{int(touched)}"
                made.append(copy)
                make(copy, golden, snap)
                if touched:
                    touch_copy(client, copy)
                times = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    diff = client.clone.diff(copy, golden, snap)
                    times.append(time.perf_counter() - t0)
                changed = sum(
                    t.inserted_count + t.updated_count + t.deleted_count for t in diff.tables
                )
                print(
                    f"  diff of a {kind}, {'3 rows touched' if touched else 'untouched':>14}: "
                    f"median {statistics.median(times) * 1000:7.1f} ms, "
                    f"max {max(times) * 1000:7.1f} ms ({changed} changed rows found)"
                )
    finally:
        for name in reversed(made):
            client.execute(f"DROP DATABASE IF EXISTS `{name}`")
        client.snapshots.drop(snap, if_exists=True)
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
