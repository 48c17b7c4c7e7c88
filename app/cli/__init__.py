"""The ``medevidence`` command: the composition root that wires settings, stores and indexers.

``main`` (the console script ``medevidence`` and ``python -m app.cli``) parses the arguments (``parser.py``) and
runs one command (``commands.py``), which prints for a person through ``output.py``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from app.cli.commands import HANDLERS, _is_loopback, _search_batch
from app.cli.parser import build_parser
from app.config import Settings

__all__ = ["_is_loopback", "_search_batch", "build_parser", "main"]


def _log_level() -> str:
    """``MEDEVIDENCE_LOG_LEVEL`` as the settings read it; settings that do not validate are the command's to
    report (each command builds them), so logging starts at the default meanwhile."""
    from pydantic import ValidationError

    try:
        return Settings().log_level
    except ValidationError:
        return "WARNING"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=_log_level())
    from app.observability.logs import quiet_third_party_loggers

    quiet_third_party_loggers()
    args = build_parser().parse_args(argv)
    from app.stores.lock import DataDirInUse

    try:
        return HANDLERS[args.command](args)
    except DataDirInUse as exc:
        print(f"medevidence: {exc}", file=sys.stderr)
        return 3
