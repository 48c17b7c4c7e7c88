"""Items held in memory by key until a deadline (monotonic clock): thread-safe, bounded, oldest dropped first."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class ExpiringStore(Generic[T]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: dict[str, tuple[float, T]] = {}  # insertion order: oldest first
        self._lock = threading.Lock()

    def put(self, key: str, item: T, expires_at: float) -> None:
        with self._lock:
            self._purge()
            while len(self._items) >= self.capacity:
                self._items.pop(next(iter(self._items)))
            self._items[key] = (expires_at, item)

    def get(self, key: str) -> T | None:
        with self._lock:
            self._purge()
            found = self._items.get(key)
            return found[1] if found else None

    def take(self, key: str) -> T | None:
        """The item, removed: it can be taken once."""
        with self._lock:
            self._purge()
            found = self._items.pop(key, None)
            return found[1] if found else None

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._items)

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, (deadline, _) in self._items.items() if deadline <= now]:
            del self._items[key]
