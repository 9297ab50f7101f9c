"""What a newcomer sees: one line per problem, no password, no setting silently ignored."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Inner

from pytest_moclone import Client

RAISING_GOLDEN = """
def pytest_moclone_setup_golden(client):
    raise ValueError("the fixture data is missing")
"""

MIXED_TESTS = """
def test_no_database():
    pass

def test_a(mo_clone_db):
    pass

def test_b(mo_clone_db):
    pass
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_a_raising_golden_hook_errors_each_database_test_with_one_line(
    inner: Inner, xdist: list[str]
) -> None:
    inner.pytester.makeconftest(RAISING_GOLDEN)
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("-p", "no:randomly", *xdist)
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    line = (
        "moclone: the golden could not be built: pytest_moclone_setup_golden in conftest.py:2 "
        "raised ValueError: the fixture data is missing"
    )
    assert out.splitlines().count(line) == 2, out  # once per database test (CI also lists it)
    result.stdout.fnmatch_lines(["*- moclone -*"])  # the summary is still printed
    assert inner.leftovers() == []


def test_a_failing_golden_sql_file_is_one_line_too(inner: Inner) -> None:
    inner.pytester.makeconftest("")
    inner.pytester.makefile(".sql", schema="CREATE TABLE t (id INT PRIMARY KEY);\nNOT SQL;")
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("--mo-golden-sql=schema.sql")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["moclone: the golden could not be built: golden SQL file *schema.sql, statement 2 *"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mo-url=postgres://root:pw@h:5432/"], "option --mo-url: invalid server URL"),
        (["--mo-url=mysql://root@127.0.0.1:1/", "--mo-server=mariadb"], "conflicting settings"),
        (["--mo-rebuild"], "add --mo-reuse"),
    ],
)
def test_bad_settings_stop_the_run_with_exit_code_4_and_one_line(
    inner: Inner, args: list[str], message: str
) -> None:
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *{message}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_path_value_after_a_space_is_refused_with_the_equals_form(inner: Inner) -> None:
    binary = inner.pytester.path.parent / f"elsewhere-{uuid.uuid4().hex[:6]}" / "mo-service"
    binary.parent.mkdir()
    binary.write_text("")
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("--mo-binary", str(binary))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*write --mo-binary={binary}*"])


def test_no_moclone_summary_under_qq(inner: Inner) -> None:
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("-qq")
    assert result.ret == pytest.ExitCode.OK
    assert "moclone" not in result.stdout.str(), result.stdout.str()
    assert "server:" not in result.stdout.str()


def test_the_header_says_when_the_snapshot_makes_the_golden_hook_unused(
    inner: Inner, admin: Client
) -> None:
    inner.pytester.makepyfile(test_mixed="def test_nothing():\n    pass\n")
    result = inner.run(f"--mo-snapshot={inner.prefix}_snap")
    result.stdout.fnmatch_lines(
        [
            "moclone: option --mo-snapshot given: tests clone that snapshot, so the golden hook "
            "(pytest_moclone_setup_golden) is not run"
        ]
    )


def test_diff_branches_where_tests_get_no_branches_is_said_to_have_no_effect(
    inner: Inner, admin: Client
) -> None:
    """MariaDB has no branches; MatrixOne 3.0.x has them, but they deadlock when made at once."""
    if admin.clone.concurrent_branches:
        pytest.skip("tests' databases are branches on this server (MatrixOne 4.x)")
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("--mo-diff-branches")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["moclone: option --mo-diff-branches has no effect on this server*"]
    )


@pytest.fixture
def password_url(admin: Client, server_url: str) -> Iterator[str]:
    """The suite's server as a user with a password."""
    user, password = f"pw_{uuid.uuid4().hex[:6]}", f"Pw{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    admin.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'")
    yield server_url.replace("://root@", f"://{user}:{password}@", 1)
    admin.execute(f"DROP USER '{user}'@'%'")


@pytest.mark.mariadb_only(reason="creates a user with MariaDB's syntax")
def test_no_password_is_printed_in_the_header_the_report_or_the_summary(
    inner: Inner, password_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "://root@" not in password_url
    password = password_url.split("@", 1)[0].rsplit(":", 1)[1]
    monkeypatch.setenv("MOCLONE_URL", password_url)
    inner.pytester.makepyfile(test_fail="def test_fails(mo_clone_db):\n    assert False\n")
    result = inner.run("--mo-keep-failed", "-v")
    result.assert_outcomes(failed=1)
    out = result.stdout.str() + result.stderr.str()
    assert password not in out, out
    result.stdout.fnmatch_lines(
        [
            "moclone: settings mo_url=mysql://pw_*:***@* (env MOCLONE_URL)*",
            "    mysql -h * -P * -u pw_* -p *",
            "    (-p asks for the password: the one in your server URL)",
        ]
    )


def test_an_unreachable_server_under_xdist_errors_each_database_test(inner: Inner) -> None:
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("-n", "2", "--mo-url=mysql://root@127.0.0.1:1/")
    result.assert_outcomes(passed=1, errors=2)
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*moclone: cannot connect to 127.0.0.1:1 *"])


needs_mariadb = pytest.mark.skipif(
    not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")),
    reason="needs MariaDB's binaries (apt-get install mariadb-server) for a private server",
)


@needs_mariadb
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_a_private_server_says_what_is_starting_then_that_it_is_ready(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    monkeypatch.delenv("MOCLONE_URL")
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("--mo-server=mariadb", *xdist)  # default verbosity
    result.assert_outcomes(passed=3)
    lines = result.stdout.lines + result.stderr.lines  # an xdist worker says it on stderr
    starting = [i for i, line in enumerate(lines) if "moclone: starting a private MariaDB" in line]
    ready = [i for i, line in enumerate(lines) if "server is ready in" in line]
    assert len(starting) == 1 and len(ready) == 1, lines  # once, by the process that starts it
    assert re.search(
        r"MariaDB \d+\.\d+\.\d+ \(\S*mariadbd\) on \S+ in /\S+moclone-mariadb-", lines[starting[0]]
    )
    assert re.search(r"moclone: the private MariaDB server is ready in \d+\.\d s", lines[ready[0]])
    if not xdist:  # in order, before the first test's progress
        assert (
            starting[0]
            < ready[0]
            < lines.index(next(x for x in lines if x.startswith("test_mixed.py")))
        )


def test_a_server_that_is_not_ready_in_time_names_the_kept_log_and_the_option(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = inner.pytester.path / "bin" / "mo-service"
    fake.parent.mkdir()
    noisy = "x" * 5000  # MatrixOne logs stack traces kilobytes long on one line
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = -version ]; then echo "Version: v4.2.0"; exit 0; fi\n'
        f'echo "starting slowly {noisy}"\nexec sleep 60\n'
    )
    fake.chmod(0o755)
    monkeypatch.delenv("MOCLONE_URL")
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run(f"--mo-binary={fake}", "--mo-start-timeout=1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "did not accept DDL within 1 s" in err and "--mo-start-timeout=SECONDS" in err, err
    kept = re.search(r"kept at (\S+\.log)\)", err)
    assert kept is not None, err
    log = Path(kept.group(1))
    assert log.is_file() and log.parent == inner.pytester.path / ".moclone-cache" / "logs"
    assert "starting slowly" in log.read_text()
    assert "server.log" not in err  # the work folder's log is gone with the folder
    quoted = [line for line in result.stderr.lines if line.startswith("    ")]
    assert quoted and max(len(line) for line in quoted) < 320, err  # long log lines are cut


KEEPS_ONE = """
def test_fails(mo_clone_db):
    mo_clone_db.execute("DELETE FROM users")
    assert False

def test_passes(mo_clone_db):
    pass
"""


def test_the_run_after_keep_failed_says_it_dropped_the_kept_database(inner: Inner) -> None:
    inner.pytester.makepyfile(test_keep=KEEPS_ONE)
    first = inner.run("--mo-keep-failed", "-p", "no:randomly")
    first.assert_outcomes(passed=1, failed=1)
    kept = [n for n in inner.leftover_databases() if "_golden_" not in n and "_snap" not in n]
    assert len(kept) == 1, inner.leftovers()
    inner.pytester.makepyfile(test_keep="def test_ok(mo_clone_db):\n    pass\n")
    second = inner.run()
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(
        [
            "dropped 1 database an earlier run kept for its failed tests (--mo-keep-failed): "
            + kept[0]
        ]
    )
    out = second.stdout.str()
    assert "killed" not in out and "things" not in out, out
    assert inner.leftovers() == []


def test_a_failed_test_that_dropped_its_database_is_not_told_to_open_it(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_drops="""
        def test_drops_its_own(mo_clone_db):
            mo_clone_db.execute("DROP DATABASE " + mo_clone_db.database)
            assert False
        """
    )
    result = inner.run("--mo-keep-failed")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["the test dropped its database *: there is nothing to compare or keep"]
    )
    assert "kept database" not in out and "open it with" not in out, out
    assert "kept 1 database" not in out and "stays up" not in out, out
    assert inner.leftovers() == []


def test_durations_in_the_summary_have_one_format(inner: Inner) -> None:
    inner.pytester.makepyfile(test_mixed=MIXED_TESTS)
    result = inner.run("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    ms = "<0.1 ms|[0-9]+[.][0-9] ms"
    clones = rf"[12] clones? made: median ({ms}), slowest ({ms}) \(test_mixed.py::test_[ab]\)"
    waits = rf"tests waited for their database: median ({ms}), slowest ({ms})"
    result.stdout.re_match_lines([clones, waits])
