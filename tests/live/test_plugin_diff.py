"""A failed test's report says what it changed in its database; a passing test's says nothing."""

from __future__ import annotations

import pytest
from conftest import Inner

THREE_CHANGES = """
def test_changes_three_rows(mo_clone_db):
    mo_clone_db.execute("INSERT INTO users VALUES (3, 'linus')")
    mo_clone_db.execute("UPDATE users SET name = 'ada l.' WHERE id = 1")
    mo_clone_db.execute("DELETE FROM users WHERE id = 2")
    assert False, "on purpose"

def test_passes(mo_clone_db):
    mo_clone_db.execute("DELETE FROM users")
"""


def _section(output: str) -> list[str]:
    """The lines of the first "database changes" section."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "database changes" in line)
    section = []
    for line in lines[start + 1 :]:
        if line.startswith(("----", "====", "____")):
            break
        section.append(line)
    return section


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_report_names_exactly_the_rows_a_failed_test_changed(
    inner: Inner, workers: list[str]
) -> None:
    inner.pytester.makepyfile(test_three=THREE_CHANGES)
    result = inner.run(*workers)
    result.assert_outcomes(failed=1, passed=1)
    out = result.stdout.str()
    assert out.count("database changes") == 1  # the failed test only
    section = [line.strip() for line in _section(out) if line.strip()]
    assert section[0].endswith(f"against {inner.prefix}_golden_" + section[0].split("_golden_")[1])
    assert section[1:] == [
        "users  +1 inserted  ~1 updated  -1 deleted",
        "+ (id=3, name='linus')",
        "~ (id=1)  name: 'ada' -> 'ada l.'",
        "- (id=2, name='grace')",
    ]


def test_a_table_the_test_created_is_listed(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_create="""
        def test_creates(mo_clone_db):
            mo_clone_db.execute("CREATE TABLE scratch (id INT PRIMARY KEY)")
            mo_clone_db.execute("DROP TABLE users")
            assert False
        """
    )
    result = inner.run()
    result.assert_outcomes(failed=1)
    section = " ".join(_section(result.stdout.str()))
    assert "tables created: scratch" in section and "tables dropped: users" in section


def test_a_failed_test_that_changed_nothing_says_so(inner: Inner) -> None:
    inner.pytester.makepyfile(test_none="def test_x(mo_clone_db):\n    assert False\n")
    result = inner.run()
    result.stdout.fnmatch_lines(["*- database changes -*", "no changes in * against *"])


def test_no_diff_turns_the_section_off(inner: Inner) -> None:
    inner.pytester.makepyfile(test_three=THREE_CHANGES)
    result = inner.run("--mo-no-diff")
    result.assert_outcomes(failed=1, passed=1)
    assert "database changes" not in result.stdout.str()


def test_diff_rows_bounds_the_rows_shown_but_not_the_counts(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_many="""
        def test_inserts_many(mo_clone_db):
            for i in range(10, 20):
                mo_clone_db.execute("INSERT INTO users VALUES (%s, 'n')", (i,))
            assert False
        """
    )
    result = inner.run("--mo-diff-rows=2")
    section = [line.strip() for line in _section(result.stdout.str())]
    assert "users  +10 inserted  ~0 updated  -0 deleted" in section
    assert sum(1 for line in section if line.startswith("+ (")) == 2
    assert "... and 8 more (--mo-diff-rows N shows more)" in section


def test_a_worker_database_diff_is_cumulative(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_worker="""
        def test_a(mo_worker_db):
            mo_worker_db.execute("INSERT INTO users VALUES (5, 'from a')")

        def test_b(mo_worker_db):
            mo_worker_db.execute("INSERT INTO users VALUES (6, 'from b')")
            assert False
        """
    )
    result = inner.run("-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    section = " ".join(_section(result.stdout.str()))
    assert "the changes of every test that used it so far" in section
    assert "+2 inserted" in section


def test_keep_failed_names_the_kept_database_in_the_same_section(inner: Inner) -> None:
    inner.pytester.makepyfile(test_three=THREE_CHANGES)
    result = inner.run("--mo-keep-failed")
    section = "\n".join(_section(result.stdout.str()))
    assert "+1 inserted" in section and "kept database" in section and "mysql -h" in section
