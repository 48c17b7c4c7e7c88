"""Per-caller rate limits: a token bucket per API key (or per client address before authentication).

``rate_limit_per_minute`` tokens refill evenly; up to ``rate_limit_burst`` may be spent at once.  A refused
request gets ``429`` with ``Retry-After`` (whole seconds until one token is back).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

MAX_TRACKED = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # caller -> (tokens, updated)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, caller: str, now: float | None = None) -> int | None:
        """None when the request may proceed; else the seconds to wait (for ``Retry-After``)."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.pop(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - updated) * self.rate)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                wait = None
            else:
                self._buckets[caller] = (tokens, now)
                wait = max(1, math.ceil((1 - tokens) / self.rate))
            while len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
            return wait
