"""The dialect and version come from the server's own words, never from the port."""

from __future__ import annotations

import pytest

from pytest_moclone import parse_server_version


@pytest.mark.parametrize(
    ("version", "comment", "dialect", "parsed"),
    [
        ("8.0.30-MatrixOne-v3.0.18", "MatrixOne", "matrixone", (3, 0, 18)),
        ("8.0.30-MatrixOne-v4.2.0", "MatrixOne", "matrixone", (4, 2, 0)),
        ("8.0.30-MatrixOne-v3.0", "MatrixOne", "matrixone", (3, 0)),
        ("8.0.30-MatrixOne-v", "MatrixOne", "matrixone", None),
        ("8.0.30-MatrixOne-vmain", "MatrixOne", "matrixone", None),
        ("10.11.19-MariaDB-0+deb12u1", "Debian 12", "mariadb", (10, 11, 19)),
        ("11.4.2-MariaDB", "", "mariadb", (11, 4, 2)),
        ("8.0.36", "MySQL Community Server - GPL", "mysql", (8, 0, 36)),
    ],
)
def test_versions_are_parsed(
    version: str, comment: str, dialect: str, parsed: tuple[int, ...] | None
) -> None:
    info = parse_server_version(version, comment)
    assert (info.dialect, info.version) == (dialect, parsed)


def test_a_development_build_counts_as_newest() -> None:
    info = parse_server_version("8.0.30-MatrixOne-v")
    assert info.is_development_build and info.at_least(99, 0, 0)
    assert info.describe() == "MatrixOne development build"


def test_version_comparisons() -> None:
    info = parse_server_version("8.0.30-MatrixOne-v3.0.4")
    assert info.at_least(3, 0, 0) and info.at_least(3, 0, 4) and not info.at_least(3, 0, 5)


def test_old_matrixone_falls_back_to_the_emulation(caplog: pytest.LogCaptureFixture) -> None:
    from pytest_moclone.dialects import MatrixOneDialect, MySQLDialect, dialect_for

    assert isinstance(
        dialect_for(parse_server_version("8.0.30-MatrixOne-v3.0.18")), MatrixOneDialect
    )
    with caplog.at_level("WARNING", logger="pytest_moclone"):
        old = dialect_for(parse_server_version("8.0.30-MatrixOne-v2.1.0"))
    assert isinstance(old, MySQLDialect) and not old.native
    assert "has no CREATE ... CLONE" in caplog.text
