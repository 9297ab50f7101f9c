"""``--mo-reuse`` with several projects on one server: they never drop each other's reused
goldens (a golden of another fingerprint goes only once unused for a day, and only by a run
with its prefix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN_CONFTEST, Inner

TEST = "def test_a(mo_clone_db):\n    assert mo_clone_db.execute('SELECT COUNT(*) FROM users')\n"


def project(inner: Inner, name: str, extra: str = "") -> Path:
    """A project folder of its own (its own rootdir), with the golden hook plus ``extra``."""
    folder = inner.pytester.path / name
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text(GOLDEN_CONFTEST + extra)
    (folder / "test_a.py").write_text(TEST)
    return folder


def run_in(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str
) -> pytest.RunResult:
    with monkeypatch.context() as m:
        m.chdir(folder)
        result = inner.pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mo-reuse", *args)
    result.assert_outcomes(passed=1)
    return result


def builds(folder: Path) -> int:
    path = folder / "golden_builds.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def goldens(inner: Inner) -> list[str]:
    return [name for name in inner.leftover_databases() if "_golden_" in name]


def test_two_projects_with_one_prefix_keep_each_others_goldens(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = project(inner, "one"), project(inner, "two", "\n# another golden\n")
    run_in(inner, monkeypatch, one)
    first = goldens(inner)
    run_in(inner, monkeypatch, two)  # another fingerprint, same prefix, same cache
    assert set(first) < set(goldens(inner)), (first, goldens(inner))
    run_in(inner, monkeypatch, one)
    assert builds(one) == 1 and builds(two) == 1  # each found its own golden


def test_two_prefixes_with_one_fingerprint_keep_each_others_goldens(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = project(inner, "one"), project(inner, "two")  # the same hook: one fingerprint
    run_in(inner, monkeypatch, one)
    first = goldens(inner)
    run_in(inner, monkeypatch, two, f"--mo-prefix={inner.prefix}x")
    assert set(first) < set(goldens(inner)), (first, goldens(inner))
    run_in(inner, monkeypatch, one)
    run_in(inner, monkeypatch, two, f"--mo-prefix={inner.prefix}x")
    assert builds(one) == 1 and builds(two) == 1


def test_a_project_that_moves_on_keeps_its_old_golden_for_a_day(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A golden of another fingerprint is dropped only once unused for a day (goldens.py): the
    old one may be a branch's that comes back; the other project's is never touched."""
    one, two = project(inner, "one"), project(inner, "two", "\n# another golden\n")
    run_in(inner, monkeypatch, one)
    run_in(inner, monkeypatch, two)
    before = goldens(inner)
    (one / "conftest.py").write_text(GOLDEN_CONFTEST + "\n# changed\n")
    run_in(inner, monkeypatch, one)
    after = goldens(inner)
    assert len(before) == 2 and len(after) == 3 and set(before) < set(after)
    run_in(inner, monkeypatch, two)
    assert builds(two) == 1


def test_a_reused_golden_is_in_the_summary_with_when_it_was_built(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = project(inner, "one")
    first = run_in(inner, monkeypatch, one)
    first.stdout.fnmatch_lines(["golden built in * s"])
    second = run_in(inner, monkeypatch, one)
    second.stdout.fnmatch_lines(
        [
            f"golden reused (--mo-reuse): {inner.prefix}_golden_*, built by an earlier run, "
            "last used just now"
        ]
    )
