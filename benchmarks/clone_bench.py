"""How long a test waits for a fresh database, by strategy, on one server in one run.

    python benchmarks/clone_bench.py                       # a private MariaDB (tmpfs, no fsync)
    python benchmarks/clone_bench.py --url mysql://root:111@127.0.0.1:6001/ --sizes 10k,1m
    python benchmarks/clone_bench.py --plot docs/performance.png

Strategies: ours with the pool; ours without it (a clone from the golden's snapshot);
``mysqldump | mysql`` (Django's way); re-running the schema and loading the data; a rollback
(the floor of any reset); a schema-only copy of empty tables (the floor of any SQL copy).
Run by hand, never as a timed test in CI: the machine is noisy, compare ratios within one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from golden import build

from pytest_moclone import Client
from pytest_moclone.leases import new_run_id
from pytest_moclone.names import quote
from pytest_moclone.pool import ClonePool
from pytest_moclone.recycle import FRESH, Ready

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
#: Seconds a simulated test runs between taking and giving back its database. The pool target
#: (<= 2 ms wait) is for tests that take longer than a clone (decisions.md): change with --test-ms.
TEST_BODY = 0.050


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, client: Client, golden: str, snapshot: str, reps: int) -> None:
        self.client, self.golden, self.snapshot, self.reps = client, golden, snapshot, reps
        self.tag = uuid.uuid4().hex[:6]
        self.test_body = TEST_BODY
        self.counter = 0
        self.rows_only: Client | None = None

    def name(self) -> str:
        self.counter += 1
        return f"bench_{self.tag}_{self.counter}"

    def timed(self, make: Callable[[str], None], reps: int) -> tuple[list[float], list[float]]:
        """(wait times, drop times) of ``reps`` databases made by ``make``."""
        waits, drops = [], []
        for _ in range(reps):
            name = self.name()
            t0 = time.perf_counter()
            make(name)
            waits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            self.client.clone.drop(name)
            drops.append(time.perf_counter() - t0)
        return waits, drops

    # -- strategies -------------------------------------------------------------------------
    def ours(self, name: str) -> None:
        self.client.clone.clone_database(name, self.golden, snapshot_name=self.snapshot)

    def ours_rows_only(self, name: str) -> None:
        """Ours as it is on a server whose data folder is not ours: every row copied in SQL."""
        if self.rows_only is None:
            self.rows_only = Client.from_url(self.client.url_for(None, scheme="mysql"))
        self.rows_only.clone.clone_database(name, self.golden, snapshot_name=self.snapshot)

    def ours_pooled(self, reps: int) -> list[float]:
        def make(client: Client) -> Ready:
            name = self.name()
            janitor = client.clone.temporary(name, self.golden, self.snapshot)
            return Ready(name, FRESH, janitor.create())

        pool = ClonePool(  # fresh clones only: what the pool made before recycling existed
            size=2,
            connect=lambda: self.client.connect_to(None),
            make=make,
            drop=lambda c, n: c.clone.drop(n),
        )
        pool.start()
        waits = []
        try:
            time.sleep(1.0)  # the pool fills while the session starts
            for _ in range(reps):
                t0 = time.perf_counter()
                ready = pool.take()
                waits.append(time.perf_counter() - t0)
                time.sleep(self.test_body)
                pool.give_back(ready)
        finally:
            pool.close()
        return waits

    def dump_restore(self, name: str) -> None:
        args = _cli_args(self.client)
        self.client.execute(f"CREATE DATABASE {quote(name)}")
        dump = subprocess.Popen(
            [
                _tool("mariadb-dump", "mysqldump"),
                *args,
                "--single-transaction",
                "--routines",
                "--triggers",
                "--skip-comments",
                self.golden,
            ],
            stdout=subprocess.PIPE,
        )
        subprocess.run([_tool("mariadb", "mysql"), *args, name], stdin=dump.stdout, check=True)
        assert dump.stdout is not None
        dump.stdout.close()
        if dump.wait() != 0:
            raise RuntimeError("mysqldump failed")

    def rerun_schema_and_data(self, script: list[str]) -> Callable[[str], None]:
        def make(name: str) -> None:
            self.client.execute(f"CREATE DATABASE {quote(name)}")
            with self.client.connect_to(name) as db:
                for start in range(0, len(script), 25):  # within max_allowed_packet
                    db.execute_script(script[start : start + 25])

        return make

    def schema_only(self, schema: list[str]) -> Callable[[str], None]:
        def make(name: str) -> None:
            self.client.execute_script(
                [
                    f"CREATE DATABASE {quote(name)}",
                    f"USE {quote(name)}",
                    "SET foreign_key_checks = 0",
                    *schema,
                    "SET foreign_key_checks = 1",
                ]
            )

        return make

    def rollback(self, reps: int) -> list[float]:
        waits = []
        with self.client.connect_to(self.golden) as db:
            for _ in range(reps):
                t0 = time.perf_counter()
                db.execute("BEGIN")
                db.execute("UPDATE t00 SET amount = amount + 1 WHERE id = 1")
                db.execute("ROLLBACK")
                waits.append(time.perf_counter() - t0)
        return waits


def _timed(action: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"none of {names} is installed")


def _cli_args(client: Client) -> list[str]:
    args = [f"-h{client.host}", f"-P{client.port}", f"-u{client.user}"]
    return args + ([f"-p{client.password}"] if client.password else [])


def schema_and_data(client: Client, golden: str) -> tuple[list[str], list[str]]:
    """The golden's schema (tables in dependency order, then views) and its rows as INSERTs."""
    tables = [f"t{i:02d}" for i in range(20)]
    extra = [
        str(r[0])
        for r in client.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE' AND table_name NOT LIKE 't__'",
            (golden,),
        )
    ]
    schema = [
        str(client.query(f"SHOW CREATE TABLE {quote(golden)}.{t}")[1][0][1]) for t in tables + extra
    ]
    views = [
        str(r[0])
        for r in client.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'VIEW'",
            (golden,),
        )
    ]
    for view in views:
        definition = str(client.query(f"SHOW CREATE VIEW {quote(golden)}.{quote(view)}")[1][0][1])
        schema.append(definition.replace(f"{quote(golden)}.", ""))
    data = []
    for table in tables:
        rows = client.execute(f"SELECT * FROM {quote(golden)}.{table}")
        for start in range(0, len(rows), 2000):
            values = ", ".join(
                "(" + ", ".join("NULL" if v is None else repr(str(v)) for v in row) + ")"
                for row in rows[start : start + 2000]
            )
            data.append(f"INSERT INTO {table} VALUES {values}")
    return schema, data


def run_size(
    client: Client, label: str, rows: int, reps: int, test_body: float
) -> list[tuple[str, list[float]]]:
    golden, snapshot = (
        f"bench_golden_{label}_{uuid.uuid4().hex[:4]}",
        f"bench_snap_{uuid.uuid4().hex[:8]}",
    )
    t0 = time.perf_counter()
    build(client, golden, rows)
    client.snapshots.create(snapshot, database=golden)
    print(
        f"\n== {client.info.describe()}, golden of 20 tables, {rows:,} rows "
        f"(built in {time.perf_counter() - t0:.1f} s), {reps} reps"
    )
    bench = Bench(client, golden, snapshot, reps)
    bench.test_body = test_body
    print(f"   (a simulated test holds its database for {test_body * 1000:.0f} ms)")
    slow_reps = max(3, reps // 6) if rows > 100_000 else reps
    results: list[tuple[str, list[float]]] = []
    try:
        results.append(("ours, with the pool", bench.ours_pooled(reps)))
        waits, drops = bench.timed(bench.ours, reps)
        results.append(("ours, without the pool", waits))
        if client.datadir is not None:  # a private MariaDB: large tables were copied as files
            rows_only = bench.timed(bench.ours_rows_only, reps if rows <= 100_000 else slow_reps)
            results.append(("ours, rows only (no files)", rows_only[0]))
        if client.dialect_name != "matrixone":
            results.append(("mysqldump | mysql", bench.timed(bench.dump_restore, slow_reps)[0]))
        schema, data = schema_and_data(client, golden)
        if client.dialect_name != "matrixone":
            setup = ["SET foreign_key_checks = 0", *schema, *data, "SET foreign_key_checks = 1"]
            results.append(
                (
                    "re-run schema + data",
                    bench.timed(bench.rerun_schema_and_data(setup), slow_reps)[0],
                )
            )
            results.append(
                ("schema-only copy (floor)", bench.timed(bench.schema_only(schema), reps)[0])
            )
        results.append(("rollback (floor)", bench.rollback(reps)))
        print_table(results, drops)
    finally:
        client.clone.drop(golden)
        client.snapshots.drop(snapshot, if_exists=True)
    return results


def print_table(results: list[tuple[str, list[float]]], drops: list[float]) -> None:
    ours = statistics.median(dict(results)["ours, without the pool"])
    pooled = statistics.median(dict(results)["ours, with the pool"])
    print(f"{'strategy':<28}{'median ms':>11}{'p95 ms':>10}{'x ours':>9}{'x pooled':>10}")
    for name, times in results:
        median = statistics.median(times)
        print(
            f"{name:<28}{median * 1000:>11.2f}{percentile(times, 0.95) * 1000:>10.2f}"
            f"{median / ours:>9.2f}{median / max(pooled, 1e-6):>10.0f}"
        )
    print(
        f"{'(DROP DATABASE of a clone)':<28}{statistics.median(drops) * 1000:>11.2f}"
        f"{percentile(drops, 0.95) * 1000:>10.2f}"
    )


def check_targets(label: str, results: list[tuple[str, list[float]]]) -> list[str]:
    found = {name: statistics.median(times) for name, times in results}
    lines = []
    ours, pooled = found["ours, without the pool"], found["ours, with the pool"]
    if label == "10k":
        lines.append(_verdict(pooled <= 0.002, f"pool wait median {pooled * 1000:.2f} ms <= 2 ms"))
    if "mysqldump | mysql" in found:
        ratio = found["mysqldump | mysql"] / ours
        lines.append(
            _verdict(
                ratio >= 3,
                f"[{label}] without the pool {ratio:.1f}x faster than mysqldump|mysql (>= 3x)",
            )
        )
    if "re-run schema + data" in found:
        ratio = found["re-run schema + data"] / ours
        lines.append(
            _verdict(
                ratio > 1,
                f"[{label}] without the pool {ratio:.1f}x faster than re-running schema + data",
            )
        )
    return lines


def _verdict(ok: bool, text: str) -> str:
    return ("PASS  " if ok else "MISS  ") + text


def plot(path: Path, by_size: dict[str, list[tuple[str, list[float]]]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(by_size), figsize=(6 * len(by_size), 4.5), squeeze=False)
    for ax, (label, results) in zip(axes[0], by_size.items(), strict=True):
        names = [n for n, _ in results]
        medians = [statistics.median(t) * 1000 for _, t in results]
        p95 = [percentile(t, 0.95) * 1000 for _, t in results]
        colours = ["#2a7" if n.startswith("ours") else "#999" for n in names]
        ax.barh(
            names,
            medians,
            color=colours,
            xerr=[[0] * len(medians), [max(0.0, b - m) for m, b in zip(medians, p95, strict=True)]],
        )
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("ms a test waits for its fresh database (median, p95 whisker; log)")
        ax.set_title(f"{title}, {label} rows")
        for y, m in enumerate(medians):
            ax.text(m, y, f" {m:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nplot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server; default: start a private MariaDB")
    parser.add_argument("--sizes", default="10k,1m")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--plot", type=Path)
    parser.add_argument(
        "--test-ms",
        type=float,
        default=TEST_BODY * 1000,
        help="how long a simulated test holds its database (pool strategy)",
    )
    args = parser.parse_args()
    server = None
    if args.url is None:
        from pytest_moclone.servers.mariadb import start_mariadb

        server = start_mariadb(owner_run_id=new_run_id())
        print(f"{server.description}, started in {server.startup_seconds:.1f} s")
    try:
        if server is not None:  # ours: large tables may be cloned as tablespace files
            client = Client.from_url(server.url, datadir=server.own_datadir)
        else:
            client = Client.from_url(args.url)
        by_size = {}
        verdicts = []
        for label in args.sizes.split(","):
            by_size[label] = run_size(client, label, SIZES[label], args.reps, args.test_ms / 1000)
            verdicts += check_targets(label, by_size[label])
        print("\ntargets:")
        for line in verdicts:
            print("  " + line)
        if args.plot:
            plot(args.plot, by_size, client.info.describe())
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
