"""Dates and languages as file metadata states them (HTML metas, Word core properties, Markdown front matter),
read into the forms a Document takes: an ISO date, a primary language subtag."""

from __future__ import annotations

import re
from datetime import datetime

_PARTIAL_DATE = re.compile(r"^\d{4}(?:-(\d{2}))?$")


def primary_language(tag: str | None) -> str | None:
    """A language tag's primary subtag, lower-case: "zh-CN" gives "zh", "en_US" gives "en", "" gives None."""
    return re.split(r"[-_]", (tag or "").strip(), maxsplit=1)[0].lower() or None


def iso_date(value: str | None) -> str | None:
    """A metadata date as ISO: "2016-03-18T08:00:00Z" and "2016/03/18" give "2016-03-18"; "2014-01" and
    "2014" stay as they are; anything else is None."""
    text = (value or "").strip().replace("/", "-")
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    match = _PARTIAL_DATE.match(text)
    if match is None or (match.group(1) is not None and not 1 <= int(match.group(1)) <= 12):
        return None
    return text
