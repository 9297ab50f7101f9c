"""What a statement of an emulated copy is about, so that a failure names the object.

A copy is sent as one multi-statement round trip; when the server refuses statement *i*, the
error says only the server's text ("Table 'x.seq1' doesn't exist"). :func:`subject_of` reads the
head of that statement and says which object it was making ("view v_orders").
"""

from __future__ import annotations

import re
from typing import Optional

_NAME = r"(`(?:[^`]|``)+`|[\w$]+)"
_KINDS = ("TABLE", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "SEQUENCE", "EVENT")
_KIND = re.compile(
    r"^\s*(?:CREATE|ALTER)\b(?:\s+OR\s+REPLACE)?(?:\s+ALGORITHM\s*=\s*\w+)?"
    r"(?:\s+DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'[^']*'|\S+?)@(?:`(?:[^`]|``)*`|'[^']*'|\S+))?"
    r"(?:\s+SQL\s+SECURITY\s+\w+)?\s+("
    + "|".join(_KINDS)
    + r")\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    + _NAME
    + r"(?:\."
    + _NAME
    + r")?",
    re.IGNORECASE | re.DOTALL,
)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+" + _NAME + r"(?:\." + _NAME + r")?", re.IGNORECASE)


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def subject_of(statement: str) -> Optional[str]:
    """``"view v1"``, ``"rows of table t"``, ... for a statement of a copy; None for the rest
    (``SET``, ``START TRANSACTION``, ``CREATE DATABASE``)."""
    found = _KIND.match(statement)
    if found:
        kind, first, second = found.group(1), found.group(2), found.group(3)
        return f"{kind.lower()} {_unquote(second or first)}"
    found = _INSERT.match(statement)
    if found:
        return f"rows of table {_unquote(found.group(2) or found.group(1))}"
    return None
