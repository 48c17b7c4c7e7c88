"""Text that cannot be stored: what JSON lets through but UTF-8, SQLite and the stores do not.

JSON's ``\\ud800`` escapes decode to a lone surrogate, which no UTF-8 encoder accepts (an index run or a request
then failed far from its input with a traceback); a NUL character is cut or refused by SQLite and C libraries;
JSON nested thousands deep exhausts the parser's recursion.  Every input is checked here at its boundary so the
error names its field (``FILE:LINE: field: reason`` on the command line, a 4xx JSON body naming the field on the
API) and nothing half-valid reaches a store.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32  # nesting of a document's metadata (a JSON object in a label: a few levels)
_BAD = re.compile(r"[\ud800-\udfff\x00]")


class InvalidText(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    match = _BAD.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return f"contains a NUL character (at {match.start()})"
    return f"contains a lone surrogate \\u{ord(match.group()):04x} (at {match.start()}): not valid Unicode text"


def check_value(value: Any, field: str, depth: int = 0) -> None:
    """Every string (keys too) of a JSON value can be stored and it nests at most ``MAX_DEPTH`` deep; raises
    ``InvalidText`` naming the first offending field (``metadata.source.name``, ``sections[2].text``)."""
    if depth > MAX_DEPTH:
        raise InvalidText(field, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise InvalidText(field, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if isinstance(key, str) and text_problem(key) is None else field
            if isinstance(key, str) and text_problem(key) is not None:
                raise InvalidText(field, f"a key {text_problem(key)}")
            check_value(item, name, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_value(item, f"{field}[{i}]", depth + 1)
