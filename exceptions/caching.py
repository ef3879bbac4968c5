"""Short-lived, per-process caches for what every event reads but admins rarely change
(active rules, webhook subscriptions, a role's e-mail addresses). An edit reaches
running workers within RULES_CACHE_SECONDS; the process that made it sees it at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings


class TTLCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        seconds = settings.RULES_CACHE_SECONDS
        if seconds <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        with self._lock:
            self._entries[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


rules_cache = TTLCache()
subscriptions_cache = TTLCache()
role_emails_cache = TTLCache()


def clear_all() -> None:
    for cache in (rules_cache, subscriptions_cache, role_emails_cache):
        cache.clear()
