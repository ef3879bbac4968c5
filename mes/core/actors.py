"""Who acts when no person does: the plant's own automation (a rule's effect, a beat
task). It may do what its rule or task was set up to do, and records show no person."""

from __future__ import annotations

from typing import Any


class SystemActor:
    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    username = "system"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return True

    def get_full_name(self) -> str:
        return "system"

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()
