"""How values of every column type read in a failed test's diff (no server)."""

from __future__ import annotations

from pytest_moclone.diff import sql_literal


def test_a_blob_shows_its_first_bytes_and_its_size() -> None:
    text = sql_literal(b"x" * 300)
    assert text.startswith("0x7878") and text.endswith("... (300 bytes)")
    assert len(text) <= 40


def test_a_short_blob_is_shown_whole() -> None:
    assert sql_literal(b"\x01\x02") == "0x0102"
