"""Inventory services, one module per area; import them from here."""

from .items import item_upsert
from .ledger import (
    USE_MOVES,
    StockUnavailable,
    move_post,
    move_reverse,
    quantity_clean,
    stock_blockers,
)
from .reservations import (
    RESERVABLE_LOCATION_TYPES,
    ReservationOutcome,
    reservable_balances,
    reserve,
)

__all__ = [
    "RESERVABLE_LOCATION_TYPES",
    "USE_MOVES",
    "ReservationOutcome",
    "StockUnavailable",
    "item_upsert",
    "move_post",
    "move_reverse",
    "quantity_clean",
    "reservable_balances",
    "reserve",
    "stock_blockers",
]
