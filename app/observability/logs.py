"""Structured JSON logs carrying the request id (also stamped on answer traces).

Access lines name the route and path, never the query string: an OAuth code, a launch token or a search
term typed into a URL stays out of the logs.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("medevidence_request_id", default=None)
FIELDS = ("method", "path", "route", "status", "duration_ms", "client", "key_id", "bytes")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            out["request_id"] = request_id
        for name in FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class RedactingFilter(logging.Filter):
    """Log messages with direct identifiers replaced (``MEDEVIDENCE_REDACT_IDENTIFIERS``; app/text/redaction.py)."""

    def __init__(self, redactor: Callable[[str], str]) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor(record.getMessage()), None
        return True


def configure_logging(json_logs: bool, level: str = "INFO", redactor: Callable[[str], str] | None = None) -> None:
    """One handler on the root logger (idempotent): JSON lines, or plain text for a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if redactor is not None:
        handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_medevidence", False)]:
        root.removeHandler(old)
    handler._medevidence = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    quiet_third_party_loggers()
    logging.getLogger("uvicorn.access").disabled = True  # our access line carries the request id instead


def quiet_third_party_loggers() -> None:
    """httpx logs every URL it requests at INFO; FHIR search URLs hold patient ids, so it logs warnings only."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
