"""The plugin across processes: xdist workers, concurrent runs, killed runs, bad set-ups."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import Inner, MakeName, wait_until_dead

from pytest_moclone import Client

MANY_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_isolated(mo_clone_db, n):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users") == [(2,)]
    mo_clone_db.execute("INSERT INTO users VALUES (%s, 'new')", (100 + n,))
"""


def test_golden_is_built_once_in_total_under_xdist(inner: Inner) -> None:
    inner.pytester.makepyfile(test_many=MANY_TESTS)
    result = inner.run("-n", "2", "--mo-no-reset")  # every test a fresh clone: 6 are made
    result.assert_outcomes(passed=6)
    assert inner.golden_builds() == 1
    result.stdout.fnmatch_lines(["6 clones made: median * ms, slowest * ms (*)"])
    assert inner.leftovers() == []


def test_xdist_workers_name_their_own_clones(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_names="""
        import os, pytest
        @pytest.mark.parametrize("n", range(4))
        def test_name(mo_clone_db, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            assert f"_{worker}_" in mo_clone_db.database
        """
    )
    inner.run("-n", "2").assert_outcomes(passed=4)


def test_missing_snapshot_stops_the_run_and_lists_the_existing_ones(
    inner: Inner, admin: Client, fresh_name: MakeName
) -> None:
    source = fresh_name("snapsrc")
    admin.execute(f"CREATE DATABASE {source}")
    existing = f"{inner.prefix}_there"
    admin.snapshots.create(existing, database=source)
    inner.pytester.makepyfile(test_users="def test_x(mo_clone_db):\n    pass\n")
    result = inner.run(f"--mo-snapshot={inner.prefix}_missing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: moclone: --mo-snapshot '{inner.prefix}_missing': no such snapshot on *"
            f"the snapshots there are: *{existing}*"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert inner.golden_builds() == 0


def test_existing_snapshot_is_cloned_and_left_alone(
    inner: Inner, admin: Client, fresh_name: MakeName
) -> None:
    source = fresh_name("snapsrc")
    admin.execute(f"CREATE DATABASE {source}")
    admin.execute(f"CREATE TABLE {source}.items (id INT PRIMARY KEY)")
    admin.execute(f"INSERT INTO {source}.items VALUES (1), (2), (3)")
    snapshot = f"{inner.prefix}_mine"
    admin.snapshots.create(snapshot, database=source)
    admin.execute(f"INSERT INTO {source}.items VALUES (4)")  # after the snapshot: not cloned
    inner.pytester.makepyfile(
        test_snap="""
        def test_sees_the_snapshot(mo_clone_db):
            assert mo_clone_db.execute("SELECT COUNT(*) FROM items") == [(3,)]
        """
    )
    inner.run(f"--mo-snapshot={snapshot}").assert_outcomes(passed=1)
    assert inner.golden_builds() == 0
    assert admin.snapshots.exists(snapshot)  # not ours: never dropped
    assert inner.leftover_snapshots() == [snapshot]


def test_unreachable_server_gives_one_clear_error(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_users="def test_a(mo_clone_db):\n    pass\ndef test_b(mo_clone_db):\n    pass\n"
    )
    result = inner.run("--mo-url=mysql://root@127.0.0.1:1/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: moclone: cannot connect to 127.0.0.1:1 *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def _start_run_to_kill(inner: Inner) -> subprocess.Popen[bytes]:
    marker = inner.pytester.path / "clone_made"
    inner.pytester.makepyfile(
        test_killed=f"""
        import time
        def test_hangs(mo_clone_db):
            open({str(marker)!r}, "w").write(mo_clone_db.database)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_killed.py"],
        cwd=inner.pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()):  # created first, written after
        assert proc.poll() is None, "the run to be killed ended early"
        assert time.monotonic() < deadline, "the run never made its clone"
        time.sleep(0.1)
    return proc


def test_next_run_reaps_what_a_killed_run_left_and_only_that(inner: Inner, admin: Client) -> None:
    proc = _start_run_to_kill(inner)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    left = inner.leftovers()
    clone = (inner.pytester.path / "clone_made").read_text()
    assert clone in left and any("golden" in n for n in left), left
    lookalike = f"{inner.prefix}_golden_zzzzzzzzzz"  # named like ours, but never recorded
    admin.execute(f"CREATE DATABASE {lookalike}")
    # Dead by its closed connection, for any machine; any run on the server may now reap it
    # (the suite's other inner runs too), so only the end state is the next run's alone.
    assert wait_until_dead(admin, proc.pid) < 30
    (inner.pytester.path / "test_killed.py").unlink()
    inner.pytester.makepyfile(test_next="def test_ok(mo_clone_db):\n    pass\n")
    result = inner.run()
    result.assert_outcomes(passed=1)
    assert inner.leftovers() == [lookalike]


def test_a_live_run_is_never_reaped_by_another(inner: Inner) -> None:
    proc = _start_run_to_kill(inner)  # alive, holding its lease, inside a test
    try:
        clone = (inner.pytester.path / "clone_made").read_text()
        (inner.pytester.path / "test_killed.py").unlink()
        inner.pytester.makepyfile(test_next="def test_ok(mo_clone_db):\n    pass\n")
        inner.run().assert_outcomes(passed=1)
        assert clone in inner.leftovers()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def test_two_concurrent_runs_do_not_touch_each_other(inner: Inner) -> None:
    inner.pytester.makepyfile(test_many=MANY_TESTS)
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_many.py"],
            cwd=inner.pytester.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].decode() for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out
        assert "6 passed" in out
    assert inner.golden_builds() == 2
    assert inner.leftovers() == []


@pytest.mark.parametrize(
    ("args", "env", "ini", "expected", "source"),
    [
        (
            ["--mo-url=mysql://cli@h:1/"],
            {"MOCLONE_URL": "mysql://env@h:1/"},
            "mo_url = mysql://ini@h:1/",
            "mysql://cli@h:1/",
            "cli",
        ),
        (
            [],
            {"MOCLONE_URL": "mysql://env@h:1/"},
            "mo_url = mysql://ini@h:1/",
            "mysql://env@h:1/",
            "env MOCLONE_URL",
        ),
        ([], {}, "mo_url = mysql://ini@h:1/", "mysql://ini@h:1/", "ini"),
        ([], {}, "", None, "default"),
    ],
)
def test_url_precedence_is_cli_then_env_then_ini(
    pytester: pytest.Pytester,
    args: list[str],
    env: dict[str, str],
    ini: str,
    expected: str | None,
    source: str,
) -> None:
    from pytest_moclone.plugin.options import resolve

    pytester.makeini(f"[pytest]\n{ini}\n")
    config = pytester.parseconfig(*args)
    settings = resolve(config, environ=env)
    assert settings.url == expected
    assert settings.sources["mo_url"] == source


def test_false_on_the_command_line_wins_over_true_in_the_environment(
    pytester: pytest.Pytester,
) -> None:
    from pytest_moclone.plugin.options import resolve

    pytester.makeini("[pytest]\nmo_diff = true\n")
    settings = resolve(pytester.parseconfig("--mo-no-diff"), environ={"MOCLONE_DIFF": "1"})
    assert settings.diff is False and settings.sources["mo_diff"] == "cli"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MOCLONE_POOL": "lots"},
            "environment variable MOCLONE_POOL: 'lots' is not a whole number",
        ),
        (
            {"MOCLONE_KEEP_FAILED": "maybe"},
            "environment variable MOCLONE_KEEP_FAILED: 'maybe' is not a yes/no value",
        ),
        ({"MOCLONE_SERVER": "oracle"}, "unknown server kind 'oracle'; choose one of auto, url"),
        ({"MOCLONE_PREFIX": "Bad-Prefix"}, "invalid prefix 'Bad-Prefix'"),
        ({"MOCLONE_SNAPSHOT": "Golden"}, "snapshot names must be lower-case"),
    ],
)
def test_bad_settings_are_refused_with_the_value_and_the_fix(
    pytester: pytest.Pytester, env: dict[str, str], message: str
) -> None:
    from pytest_moclone.plugin.options import resolve

    with pytest.raises(pytest.UsageError, match=re.escape(message)):
        resolve(pytester.parseconfig(), environ=env)
