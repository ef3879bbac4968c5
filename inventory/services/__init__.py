"""Inventory services, one module per area; import them from here or from the module."""

from .counts import cycle_count_record, stock_adjust, stock_scrap, stock_transfer
from .holds import hold_place, hold_release
from .items import bom_upsert, item_upsert, location_upsert
from .kits import (
    kit_create,
    kit_issue,
    kit_pick,
    kit_pick_list,
    kit_stage,
    kit_status_for_work_order,
)
from .ledger import (
    USE_MOVES,
    WORK_ORDER_DOCUMENT,
    StockUnavailable,
    move_post,
    move_reverse,
    quantity_clean,
    stock_blockers,
)
from .production import (
    issued_lots,
    production_receive,
    work_order_backflush,
    work_order_issue,
)
from .receipts import (
    expected_receipt_upsert,
    receipt_by_scan,
    receipt_inspect,
    receipt_put_away,
    receipt_receive,
    receipts_report_delayed,
)
from .reservations import (
    RESERVABLE_LOCATION_TYPES,
    ReservationOutcome,
    reservable_balances,
    reservation_move,
    reservation_release,
    reservations_release_for_demand,
    reserve,
)

__all__ = [
    "RESERVABLE_LOCATION_TYPES",
    "USE_MOVES",
    "WORK_ORDER_DOCUMENT",
    "ReservationOutcome",
    "StockUnavailable",
    "bom_upsert",
    "cycle_count_record",
    "expected_receipt_upsert",
    "hold_place",
    "hold_release",
    "issued_lots",
    "item_upsert",
    "kit_create",
    "kit_issue",
    "kit_pick",
    "kit_pick_list",
    "kit_stage",
    "kit_status_for_work_order",
    "location_upsert",
    "move_post",
    "move_reverse",
    "production_receive",
    "quantity_clean",
    "receipt_by_scan",
    "receipt_inspect",
    "receipt_put_away",
    "receipt_receive",
    "receipts_report_delayed",
    "reservable_balances",
    "reservation_move",
    "reservation_release",
    "reservations_release_for_demand",
    "reserve",
    "stock_adjust",
    "stock_blockers",
    "stock_scrap",
    "stock_transfer",
    "work_order_backflush",
    "work_order_issue",
]
