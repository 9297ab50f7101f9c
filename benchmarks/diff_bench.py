"""How long the failure diff takes: a golden of ~1 M rows, a clone in which a test touched three
rows, and ``client.clone.diff`` timed (median of --reps). Run by hand, never in CI:

    python benchmarks/diff_bench.py --url mysql://root@127.0.0.1:3306/ [--rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from golden import build, touch

from pytest_moclone import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    client = Client.from_url(args.url)
    tag = uuid.uuid4().hex[:6]
    golden, snap = f"bench_golden_{tag}", f"bench_snap_{tag}"
    made: list[str] = [golden]
    try:
        started = time.perf_counter()
        build(client, golden, args.rows)
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
                    touch(client, copy)
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


if __name__ == "__main__":
    main()
