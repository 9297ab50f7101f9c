"""The liveness rule, the CLI's listing and its cache tidying, without a server."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from pytest_moclone.cli import cmd_tidy_cache, describe, main
from pytest_moclone.leases import RunLease
from pytest_moclone.registry import EXPIRY_SECONDS, GRACE_SECONDS, Entry, Lease, lease_alive


def test_a_lease_with_its_connection_lives_until_the_expiry() -> None:
    assert lease_alive(GRACE_SECONDS * 3, connected=True)  # paused: alive
    assert not lease_alive(EXPIRY_SECONDS, connected=True)  # a machine that vanished


def test_a_lease_without_its_connection_dies_after_the_grace() -> None:
    assert lease_alive(GRACE_SECONDS - 1, connected=False)  # maybe another CN's list
    assert not lease_alive(GRACE_SECONDS, connected=False)  # killed: dead within 30 s
    assert GRACE_SECONDS + 5 <= 30


def _lease(run: str, age: float, connected: bool) -> Lease:
    when = dt.datetime(2026, 1, 1)
    alive = lease_alive(age, connected)
    return Lease(run, "gw0", "ci-7", 42, 9, when, age, connected, alive)


def test_list_shows_each_run_alive_or_dead_with_its_objects_and_shared_goldens() -> None:
    lines = describe(
        [_lease("r1", 1.0, True), _lease("r2", 400.0, False)],
        [
            Entry("database", "p_r2_gw0_1", "r2", "created", 30.0),
            Entry("database", "p_golden_abc", "r1", "shared", 7200.0, "abc"),
        ],
    )
    assert lines == [
        "run r1: alive (gw0 on ci-7 pid 42, heartbeat 1 s ago)",
        "run r2: dead (gw0 on ci-7 pid 42, heartbeat 7 min ago, disconnected)",
        "  database p_r2_gw0_1 (created, 30 s old)",
        "shared goldens (--mo-reuse):",
        "  database p_golden_abc (fingerprint abc, 2.0 h old)",
    ]
    assert describe([], []) == ["the plugin owns nothing on this server"]


def test_tidy_cache_removes_what_dead_runs_and_old_versions_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCLONE_CACHE_DIR", str(tmp_path))
    (tmp_path / "records").mkdir()
    for n in range(3):  # one file per random port, by an older version
        (tmp_path / "records" / f"127.0.0.1_{4000 + n}.jsonl").write_text("{}\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "deadrun.d").mkdir()
    (tmp_path / "runs" / "deadrun.lock").write_text("")
    out = io.StringIO()
    with RunLease(tmp_path, "liverun"):
        (tmp_path / "runs" / "liverun.d").mkdir()
        assert cmd_tidy_cache(out, tmp_path) == 0
        assert (tmp_path / "runs" / "liverun.d").is_dir()  # a live run's: kept
    assert not (tmp_path / "records").exists()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["liverun.d"]
    assert out.getvalue().endswith(": 3 things tidied\n")


def test_the_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([])
    assert "list" in capsys.readouterr().err
