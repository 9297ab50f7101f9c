"""The text of the "database changes" section, from hand-made diffs."""

from __future__ import annotations

import datetime as dt
import decimal

from pytest_moclone.diff import DatabaseDiff, TableDiff, format_diff, sql_literal


def test_rows_of_each_kind_with_old_and_new_values() -> None:
    diff = DatabaseDiff(
        "copy",
        "golden",
        "snap",
        tables=[
            TableDiff(
                "users",
                ("id",),
                1,
                1,
                1,
                inserted=[{"id": 3, "name": "linus"}],
                updated=[({"id": 1, "name": "ada", "n": 1}, {"id": 1, "name": "bob", "n": 1})],
                deleted=[{"id": 2, "name": "grace"}],
            ),
        ],
        created=["scratch"],
    )
    assert format_diff(diff).splitlines() == [
        "copy against golden at snapshot snap:",
        "  users  +1 inserted  ~1 updated  -1 deleted",
        "      + (id=3, name='linus')",
        "      ~ (id=1)  name: 'ada' -> 'bob'",
        "      - (id=2, name='grace')",
        "  tables created: scratch",
    ]


def test_hidden_rows_are_counted_and_the_option_named() -> None:
    table = TableDiff("t", ("id",), 7, inserted=[{"id": i} for i in range(2)])
    text = format_diff(DatabaseDiff("c", "g", None, tables=[table]), max_rows=2)
    assert "... and 5 more (--mo-diff-rows N shows more)" in text
    assert table.truncated


def test_an_empty_diff_says_there_were_no_changes() -> None:
    assert format_diff(DatabaseDiff("c", "g", None)) == "no changes in c against g"


def test_a_worker_diff_says_it_is_cumulative() -> None:
    diff = DatabaseDiff("w", "g", None, altered=["t"], cumulative=True)
    assert "the changes of every test that used it so far" in format_diff(diff)


def test_values_read_like_sql_and_long_ones_are_shortened() -> None:
    assert sql_literal(None) == "NULL"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(b"\x01\xff") == "0x01ff"
    assert sql_literal(decimal.Decimal("1.50")) == "1.50"
    assert sql_literal(dt.date(2026, 11, 25)) == "'2026-11-25'"
    assert sql_literal("x" * 100).endswith("...") and len(sql_literal("x" * 100)) == 40


def test_what_changed_in_an_altered_table_is_listed_under_it() -> None:
    diff = DatabaseDiff(
        "c",
        "g",
        None,
        altered=["t"],
        altered_details={"t": ["column `extra` added: int(11) NULL", "index `ix_n` (n) added"]},
    )
    assert format_diff(diff).splitlines()[1:] == [
        "  tables altered: t",
        "      t: column `extra` added: int(11) NULL",
        "      t: index `ix_n` (n) added",
    ]


def test_a_note_does_not_hide_how_many_rows_are_not_shown() -> None:
    table = TableDiff("t", (), 3, inserted=[{"a": 1}], note="no primary key: rows compared whole")
    lines = format_diff(DatabaseDiff("c", "g", None, tables=[table]), max_rows=1).splitlines()
    assert lines[-2:] == [
        "      ... and 2 more (--mo-diff-rows N shows more)",
        "      (no primary key: rows compared whole)",
    ]


def test_an_update_without_a_key_shows_the_new_row() -> None:
    table = TableDiff("nk", (), 0, 1, updated=[(None, {"a": 2, "b": "z"})])
    text = format_diff(DatabaseDiff("c", "g", "s", tables=[table]))
    assert "~ (a=2, b='z')  (old values unknown: the table has no key)" in text
