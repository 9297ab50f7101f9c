"""What the plugin prints, checked without a server: no password ever, one line per failure."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pytest_moclone.errors import ServerStartError
from pytest_moclone.plugin.options import resolve
from pytest_moclone.plugin.report import hook_failure, kept_lines, open_command
from pytest_moclone.plugin.stats import Stats, ms
from pytest_moclone.recycle import FRESH, KEPT, Ready

SECRET = "s3cr3t-pw"


def _admin(password: str) -> Any:
    return SimpleNamespace(host="db.example", port=6001, user="root", password=password)


def test_the_settings_line_masks_the_urls_password(pytester: pytest.Pytester) -> None:
    url = f"mysql://root:{SECRET}@db.example:6001/"
    settings = resolve(pytester.parseconfig(f"--mo-url={url}"), environ={})
    described = ", ".join(settings.described())
    assert SECRET not in described
    assert "mo_url=mysql://root:***@db.example:6001/ (cli)" in described


def test_the_command_to_open_a_kept_database_asks_for_the_password() -> None:
    command = open_command(cast(Any, _admin(SECRET)), "kept_db")
    assert command == "mysql -h db.example -P 6001 -u root -p kept_db"
    assert open_command(cast(Any, _admin("")), "kept_db") == (
        "mysql -h db.example -P 6001 -u root kept_db"
    )


def test_the_kept_database_lines_never_print_a_urls_password() -> None:
    run = SimpleNamespace(admin=_admin(SECRET), server=SimpleNamespace(kind="url"))
    text = kept_lines(cast(Any, run), "kept_db")
    assert SECRET not in text
    assert "-p asks for the password: the one in your server URL" in text


def test_a_raising_hook_is_one_line_naming_the_hook_its_file_and_the_cause(
    tmp_path: Path,
) -> None:
    source = tmp_path / "conftest.py"
    source.write_text("def pytest_moclone_setup_golden(client):\n    raise ValueError('no')\n")
    code = compile(source.read_text(), str(source), "exec")
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    with pytest.raises(ValueError) as info:
        namespace["pytest_moclone_setup_golden"](None)
    assert hook_failure(info.value, tmp_path) == (
        "pytest_moclone_setup_golden in conftest.py:2 raised ValueError: no"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            [f"--mo-url=postgres://root:{SECRET}@h:5432/"],
            {},
            "option --mo-url: invalid server URL 'postgres://root:***@h:5432/': expected mysql://",
        ),
        ([], {"MOCLONE_URL": "127.0.0.1:3306"}, "environment variable MOCLONE_URL: invalid"),
        (["--mo-url=mysql://root@h:port/"], {}, "option --mo-url: invalid server URL"),
        (
            ["--mo-url=mysql://root@h:1/", "--mo-server=mariadb"],
            {},
            "conflicting settings: option --mo-url names a running server (mysql://root@h:1/) "
            "but option --mo-server asks for 'mariadb'",
        ),
        (["--mo-rebuild"], {}, "add --mo-reuse"),
    ],
)
def test_bad_or_conflicting_server_settings_are_refused_with_the_fix(
    pytester: pytest.Pytester, args: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(pytest.UsageError, match=re.escape(message)) as info:
        resolve(pytester.parseconfig(*args), environ=env)
    assert SECRET not in str(info.value)


def test_golden_sql_on_the_command_line_is_relative_to_where_pytest_started(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\n")
    sub = pytester.mkdir("sub")
    (sub / "schema.sql").write_text("CREATE TABLE t (id INT);")
    monkeypatch.chdir(sub)
    settings = resolve(pytester.parseconfig("--mo-golden-sql=schema.sql"), environ={})
    assert settings.golden_sql == (sub / "schema.sql",)
    with pytest.raises(pytest.UsageError, match="relative to the folder pytest was started in"):
        resolve(pytester.parseconfig("--mo-golden-sql=missing.sql"), environ={})


def test_golden_sql_in_the_ini_file_is_relative_to_its_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nmo_golden_sql = schema.sql\n")
    (pytester.path / "schema.sql").write_text("CREATE TABLE t (id INT);")
    monkeypatch.chdir(pytester.mkdir("sub"))
    settings = resolve(pytester.parseconfig(), environ={})
    assert settings.golden_sql == (pytester.path / "schema.sql",)


def test_docker_with_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("testcontainers")
    from pytest_moclone.servers.docker import start_docker

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ServerStartError, match="no Docker engine answers at unix:///nonexistent"):
        start_docker()


def test_durations_have_one_format_and_tiny_ones_read_under_a_tenth() -> None:
    assert [ms(s) for s in (0.1736, 0.00004, 0.0, 0.00005, 2.5)] == [
        "173.6 ms",
        "<0.1 ms",
        "<0.1 ms",
        "0.1 ms",
        "2500.0 ms",
    ]
    stats = Stats(wait_seconds=[0.1736, 0.1736], clone_seconds=[(0.00001, "t::a")])
    lines = stats.summary_lines()
    assert "tests waited for their database: median 173.6 ms, slowest 173.6 ms" in lines
    assert "1 clone made: median <0.1 ms, slowest <0.1 ms (t::a)" in lines


def test_the_worker_database_is_a_clone_but_not_a_tests_database() -> None:
    stats = Stats()
    stats.record_ready(Ready("w", FRESH, 0.01), "mo_worker_db", for_one_test=False)
    stats.record_ready(Ready("a", FRESH, 0.01), "t::a")
    stats.record_ready(Ready("a", KEPT, 0.001), "t::b")
    assert "databases for 2 tests: 1 fresh clone (median 10.0 ms), 1 kept (median 1.0 ms)" in (
        stats.summary_lines()
    )
    assert "2 clones made: median 10.0 ms, slowest 10.0 ms (t::a)" in stats.summary_lines()


def test_cleanup_lines_say_what_was_kept_on_purpose_and_count_right() -> None:
    stats = Stats(reaped=["x_1"], dropped_kept=["k_1", "k_2"], stopped_kept=["mariadb pid 7"])
    assert stats.cleanup_lines() == [
        "dropped 2 databases an earlier run kept for its failed tests (--mo-keep-failed): k_1, k_2",
        "stopped the private server an earlier run kept up for its failed tests' databases: "
        "mariadb pid 7",
        "cleaned up 1 leftover of a killed run: x_1",
    ]
    many = Stats(reaped=[f"x_{i}" for i in range(7)]).cleanup_lines()
    assert many == ["cleaned up 7 leftovers of killed runs: x_0, x_1, x_2, x_3, x_4 and 2 more"]


def test_a_test_with_two_databases_counts_once_among_the_tests() -> None:
    stats = Stats()
    stats.record_ready(Ready("a", KEPT, 0.001), "t::a")
    stats.record_ready(Ready("b", KEPT, 0.001), "t::b")
    stats.record_ready(Ready("c", FRESH, 0.01), "t::b")  # mo_clone_factory in the same test
    assert stats.readiness_lines()[0].startswith("3 databases for 2 tests: 1 fresh clone")
