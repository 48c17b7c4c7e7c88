"""Retention of answer traces and the CDS audit: rows older than ``traces_retention_days`` are deleted at start
and every six hours."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from app.config import Settings
from app.stores.audit import AuditStore
from app.stores.traces import TraceStore

log = logging.getLogger("medevidence.retention")
PERIOD_S = 6 * 3600


def purge_once(days: int, traces: TraceStore, audit: AuditStore) -> dict[str, int]:
    before = datetime.now(UTC) - timedelta(days=days)
    removed = {"answers": traces.purge(before), **audit.purge(before)}
    if any(removed.values()):
        log.info("retention: removed rows older than %d days: %s", days, removed)
    return removed


async def purge_periodically(settings: Settings, traces: TraceStore, audit: AuditStore) -> None:
    assert settings.traces_retention_days is not None
    while True:
        await asyncio.to_thread(purge_once, settings.traces_retention_days, traces, audit)
        await asyncio.sleep(PERIOD_S)
