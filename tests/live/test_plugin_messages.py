"""What a newcomer sees: one line per problem, no password, no setting silently ignored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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


@pytest.mark.mariadb_only(reason="DATA BRANCH diffs exist on MatrixOne")
def test_diff_branches_on_mariadb_is_said_to_have_no_effect(inner: Inner) -> None:
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
