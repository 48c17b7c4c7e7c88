"""Recovery before serving: a server never answers from an index that a killed run left half-written.

``medevidence index`` records every batch in the manifest's intent log before it touches a store and clears it in
the commit; a run killed in between leaves the intent behind, and the vector and graph stores may then hold
chunks and links of documents the manifest does not know.  The indexer's ``recover`` replays those intents to the
state of an uninterrupted run.  A server started on such a data dir (``Recovery``) runs it in the background at
start: until it has finished, ``/readyz`` is 503 with the reason and every ``/v1`` request answers 503
``recovering`` with ``Retry-After``, so no search sees the half-written batch.  Command-line commands that read the
stores recover first, in the foreground (``app/cli/commands.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("medevidence.recovery")


@dataclass
class Recovery:
    """The state of the start-up recovery of one server."""

    pending: int = 0  # index operations the intent log held at start
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    replayed: int = 0

    @property
    def ready(self) -> bool:
        return self.done.is_set() and self.error is None

    def reason(self) -> str:
        if self.error is not None:
            return f"recovering the index failed: {self.error}; run `medevidence index` to complete it"
        if not self.done.is_set():
            return f"recovering {self.pending} pending index operation(s) left by an interrupted run"
        return f"recovered {self.replayed} document(s) left pending by an interrupted run"

    @classmethod
    def finished(cls) -> Recovery:
        state = cls()
        state.done.set()
        return state

    @classmethod
    def start(cls, pending: int, recover: Callable[[], int]) -> Recovery:
        """Run ``recover`` in a background thread (nothing pending: already finished)."""
        state = cls(pending=pending)
        if pending == 0:
            state.done.set()
            return state

        def run() -> None:
            try:
                state.replayed = recover()
                log.warning("recovered %d document(s) left pending by an interrupted index run", state.replayed)
            except Exception as exc:  # noqa: BLE001 - reported by /readyz; requests keep answering 503
                state.error = f"{type(exc).__name__}: {exc}"
                log.exception("index recovery failed")
            finally:
                state.done.set()

        threading.Thread(target=run, name="index-recovery", daemon=True).start()
        return state
