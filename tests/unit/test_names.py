"""Every name is checked before any SQL is sent; the error names the bad value and the fix."""

from __future__ import annotations

import pytest

from pytest_moclone import InvalidNameError
from pytest_moclone.names import TableName, check_identifier, check_snapshot_name, quote


@pytest.mark.parametrize("name", ["shop", "Shop_2", "a$b", "_x", "x" * 64])
def test_plain_identifiers_pass(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a;drop database x", "use only letters, digits"),
        ("x`y", "use only letters, digits"),
        ("with space", "use only letters, digits"),
        ("", "cannot be empty"),
        ("x" * 65, "65 characters, the limit is 64"),
        ("123", "not digits alone"),
        (None, "expected a string"),
    ],
)
def test_unsafe_identifiers_are_refused_naming_the_value(name: object, why: str) -> None:
    with pytest.raises(InvalidNameError, match=why) as info:
        check_identifier(name, "database name")
    assert repr(name) in str(info.value) or name == ""
    assert isinstance(info.value, ValueError)


def test_snapshot_names_with_capitals_are_refused_naming_the_lower_case_form() -> None:
    with pytest.raises(InvalidNameError, match=r"must be lower-case .* use 'golden_v1'"):
        check_snapshot_name("Golden_V1")


@pytest.mark.parametrize("name", ["a-b", "a.b", "", "x" * 65, "s'; drop"])
def test_unsafe_snapshot_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_snapshot_name(name)


def test_table_names_may_carry_their_database() -> None:
    assert TableName.parse("orders") == TableName("orders")
    assert TableName.parse("shop.orders") == TableName("orders", "shop")
    assert TableName.parse("shop.orders").sql == "`shop`.`orders`"
    assert TableName("orders").resolve("shop") == TableName("orders", "shop")


@pytest.mark.parametrize("text", ["a.b.c", "shop.", ".t", "shop.or ders"])
def test_bad_table_names_are_refused(text: str) -> None:
    with pytest.raises(InvalidNameError):
        TableName.parse(text)


def test_an_unqualified_table_needs_a_current_database() -> None:
    with pytest.raises(InvalidNameError, match=r"write 'database\.orders'"):
        TableName("orders").resolve(None)


def test_quoting_doubles_backticks() -> None:
    assert quote("a`b") == "`a``b`"
