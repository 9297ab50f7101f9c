"""The SQLAlchemy fixtures through the real plugin: the documented example runs as written, the
golden is reflected once per process, and no connection outlives its test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Inner

DOC = Path(__file__).parents[2] / "docs" / "sqlalchemy.md"


def documented_files() -> dict[str, str]:
    """The python blocks of docs/sqlalchemy.md whose first line names their file."""
    blocks = re.findall(r"```python\n# (\S+\.py)\n(.*?)```", DOC.read_text(), re.DOTALL)
    return {name: code for name, code in blocks}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_the_documented_example_runs_as_written(inner: Inner, xdist: list[str]) -> None:
    files = documented_files()
    assert set(files) == {"conftest.py", "test_users_sqlalchemy.py"}, files
    for name, code in files.items():
        (inner.pytester.path / name).write_text(code)
    result = inner.run("-p", "no:randomly", *xdist)
    result.assert_outcomes(passed=4)
    assert inner.leftovers() == []


COUNTS_REFLECTIONS = """
import os
import pytest_moclone.plugin.sqlalchemy as fixtures

_reflect = fixtures.reflect

def counted(*args, **kwargs):
    with open(os.path.join(os.path.dirname(__file__), "reflections.txt"), "a") as out:
        out.write(f"{os.getpid()}\\n")
    return _reflect(*args, **kwargs)

fixtures.reflect = counted
"""

LEAVES_CONNECTIONS_OPEN = """
import pathlib
import pytest
from sqlalchemy import select, text

LEFT_OPEN = []  # referenced, so that only the fixture can close them

@pytest.mark.parametrize("n", range(4))
def test_uses_the_metadata(mo_engine, mo_metadata, n):
    with mo_engine.connect() as conn:
        assert conn.execute(select(mo_metadata.tables["users"])).all()

def test_leaves_connections_open(mo_engine, mo_session, mo_clone_db):
    conn = mo_engine.connect()
    conn.execute(text("SELECT 1"))
    LEFT_OPEN.append(conn)
    assert mo_session.execute(text("SELECT COUNT(*) FROM users")).scalar() == 2
    LEFT_OPEN.append(mo_session.connection())
    pathlib.Path("clone_name").write_text(mo_clone_db.database)

def test_after_it_no_connection_is_on_that_database(mo_client):
    name = pathlib.Path("clone_name").read_text()
    conn_id, db = mo_client.dialect.process_columns
    rows = mo_client.execute(
        f"SELECT {conn_id} FROM information_schema.processlist WHERE {db} = %s", (name,)
    )
    assert rows == []
"""


def test_the_golden_is_reflected_once_per_process_and_no_connection_outlives_a_test(
    inner: Inner,
) -> None:
    inner.pytester.makeconftest(
        (inner.pytester.path / "conftest.py").read_text() + COUNTS_REFLECTIONS
    )
    inner.pytester.makepyfile(test_engines=LEAVES_CONNECTIONS_OPEN)
    result = inner.run("-p", "no:randomly")
    result.assert_outcomes(passed=6)
    reflections = (inner.pytester.path / "reflections.txt").read_text().split()
    assert len(reflections) == 1, reflections
    out = result.stdout.str()
    assert "ended" not in out, out  # the recycler found no connection to end: none was left
    assert inner.leftovers() == []


def test_the_golden_is_reflected_once_per_xdist_worker(inner: Inner) -> None:
    inner.pytester.makeconftest(
        (inner.pytester.path / "conftest.py").read_text() + COUNTS_REFLECTIONS
    )
    inner.pytester.makepyfile(
        test_many="""
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_reads(mo_session, mo_metadata, n):
            assert mo_session.execute(mo_metadata.tables["users"].select()).all()
        """
    )
    result = inner.run("-n", "2")
    result.assert_outcomes(passed=6)
    reflections = (inner.pytester.path / "reflections.txt").read_text().split()
    assert len(reflections) == len(set(reflections)) <= 2, reflections
