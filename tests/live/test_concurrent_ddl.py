"""Many connections making, resetting and dropping test databases at once, as the pool's workers
and other xdist workers and machines do: it must never stall.

MatrixOne 3.0.18 deadlocks on its lineage catalog when two connections drop branches at once
(20701, found every 5 s; four connections fell to 0.2 statements a second), so tests' databases
are branches only where ``concurrent_branches`` says they can be; this runs what the plugin does.
"""

from __future__ import annotations

import threading
import time

import pytest
from conftest import MakeName

from pytest_moclone import Client

CONNECTIONS = 4
ROUNDS = 6


@pytest.mark.matrixone_only(reason="clones and table clones are MatrixOne's native DDL")
def test_four_connections_cloning_resetting_and_dropping_at_once_never_stall(
    admin: Client, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    golden, snap = fresh_name("golden"), snapshot_name("golden")
    admin.execute(f"CREATE DATABASE {golden}")
    for table in ("a", "b"):
        admin.execute(f"CREATE TABLE {golden}.{table} (id INT PRIMARY KEY, v VARCHAR(10))")
        admin.execute(f"INSERT INTO {golden}.{table} VALUES (1, 'x'), (2, 'y')")
    admin.snapshots.create(snap, database=golden)
    names = [[fresh_name("c") for _ in range(ROUNDS)] for _ in range(CONNECTIONS)]
    errors: list[BaseException] = []

    def work(mine: list[str]) -> None:
        with admin.connect_to(None) as client:
            try:
                for name in mine:
                    if client.clone.concurrent_branches:
                        client.clone.branch_database(name, golden, snap)
                    else:
                        client.clone.clone_database(name, golden, snap)
                    client.execute(f"INSERT INTO {name}.a VALUES (3, 'new')")
                    client.execute(f"DROP TABLE {name}.a")  # a reset of the changed table
                    client.clone.clone_table(f"{name}.a", f"{golden}.a", snap)
                    assert client.execute(f"SELECT COUNT(*) FROM {name}.a") == [(2,)]
                    client.clone.drop(name)
            except BaseException as exc:  # handed to the test's thread
                errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(mine,), daemon=True) for mine in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, 90 - (time.monotonic() - started)))
    took = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), f"still working after {took:.0f} s: a stall"
    assert not errors, errors
    # 4 x 6 rounds of 5 statements: ~2 s here without a deadlock; each deadlock costs 5 s.
    assert took < 45, f"{CONNECTIONS * ROUNDS} rounds took {took:.1f} s"
