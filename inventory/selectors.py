"""Reads other apps and pages share: item master data, the stock picture (balances,
the ledger of an item), quality holds, and the ledger check `verify_ledger` reports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import (
    Item,
    Location,
    Lot,
    QualityHold,
    Reservation,
    StockBalance,
    StockMove,
)

ZERO = Decimal("0")


def items_active() -> QuerySet[Item]:
    return Item.objects.filter(active=True).order_by("sku")


def item_by_sku(*, sku: str) -> Item | None:
    return Item.objects.filter(sku=sku).first()


# --- stock -----------------------------------------------------------------------------


def _active_hold_on_balance() -> Exists:
    return Exists(
        QualityHold.objects.filter(state=QualityHold.State.ACTIVE).filter(
            Q(scope=QualityHold.Scope.LOT, lot=OuterRef("lot"))
            | Q(scope=QualityHold.Scope.LOCATION, location=OuterRef("location"))
        )
    )


def _blocked(today: dt.date) -> Q:
    """Stock nobody may use: held, expired, in quarantine or at an unused location."""
    return (
        Q(held=True)
        | Q(location__type=Location.Type.QUARANTINE)
        | Q(location__active=False)
        | Q(lot__expiry_date__lt=today)
    )


def balances(
    *,
    item: Item | None = None,
    location: Location | None = None,
    lot: Lot | None = None,
    available_only: bool = False,
) -> QuerySet[StockBalance]:
    """Stock on hand by item x location x lot, each row annotated `held` (an active hold
    covers its lot or location) and `blocked` (held, expired or quarantined).
    `available_only`: rows with available stock that may be used now."""
    today = timezone.localdate()
    rows = (
        StockBalance.objects.filter(on_hand__gt=0)
        .select_related("item", "location", "lot")
        .annotate(held=_active_hold_on_balance())
        .order_by("item__sku", "location__code", "lot__number")
    )
    if item is not None:
        rows = rows.filter(item=item)
    if location is not None:
        rows = rows.filter(location=location)
    if lot is not None:
        rows = rows.filter(lot=lot)
    if available_only:
        return rows.filter(available__gt=0).exclude(_blocked(today))
    return rows.annotate(blocked=ExpressionWrapper(_blocked(today), output_field=BooleanField()))


def item_balance_summary(*, item: Item) -> dict[str, Any]:
    """The item's stock across all locations in one query: on hand, reserved, available,
    the part of it nobody may use (held, expired, quarantine), and where it lies."""
    today = timezone.localdate()
    totals = (
        StockBalance.objects.filter(item=item, on_hand__gt=0)
        .annotate(held=_active_hold_on_balance())
        .aggregate(
            total_on_hand=Coalesce(Sum("on_hand"), ZERO),
            total_reserved=Coalesce(Sum("reserved"), ZERO),
            total_available=Coalesce(Sum("available"), ZERO),
            total_blocked=Coalesce(Sum("on_hand", filter=_blocked(today)), ZERO),
            total_usable_available=Coalesce(Sum("available", filter=~_blocked(today)), ZERO),
            total_locations=Count("location", distinct=True),
            total_lots=Count("lot", distinct=True),
        )
    )
    return {
        "item": item.sku,
        "unit": item.unit,
        **{name.removeprefix("total_"): value for name, value in totals.items()},
    }


def item_ledger(*, item: Item) -> QuerySet[StockMove]:
    """Every move of the item, newest first, with what a ledger page shows."""
    return (
        StockMove.objects.filter(item=item)
        .select_related("lot", "from_location", "to_location", "actor", "reason_code", "reverses")
        .order_by("-occurred_at", "-id")
    )


def reservations_for_demand(*, demand_type: str, demand_id: int) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(demand_type=demand_type, demand_id=demand_id)
        .select_related("item", "location", "lot")
        .order_by("id")
    )


# --- quality holds ----------------------------------------------------------------------


def holds_list(*, active_only: bool = True) -> QuerySet[QualityHold]:
    rows = QualityHold.objects.select_related(
        "lot__item", "location", "reason_code", "placed_by", "released_by"
    ).order_by("-placed_at", "-id")
    return rows.filter(state=QualityHold.State.ACTIVE) if active_only else rows


def holds_for_work_order(*, work_order_id: int) -> list[QualityHold]:
    """Active holds on the work order itself (planning refuses to release it)."""
    return list(
        QualityHold.objects.filter(
            scope=QualityHold.Scope.WORK_ORDER,
            work_order_id=work_order_id,
            state=QualityHold.State.ACTIVE,
        )
        .select_related("reason_code")
        .order_by("placed_at", "id")
    )


# --- the ledger check -------------------------------------------------------------------


Key = tuple[int, int, int | None]


def _ledger_on_hand() -> dict[Key, Decimal]:
    """On hand per item x location x lot as the ledger says: what came in minus what
    went out, summed by the database."""
    totals: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    inflow = (
        StockMove.objects.filter(to_location__isnull=False)
        .order_by()
        .values_list("item_id", "to_location_id", "lot_id")
        .annotate(total=Sum("quantity"))
    )
    for item_id, location_id, lot_id, total in inflow:
        totals[(item_id, location_id, lot_id)] += total
    outflow = (
        StockMove.objects.filter(from_location__isnull=False)
        .order_by()
        .values_list("item_id", "from_location_id", "lot_id")
        .annotate(total=Sum("quantity"))
    )
    for item_id, location_id, lot_id, total in outflow:
        totals[(item_id, location_id, lot_id)] -= total
    return totals


def _reservations_open() -> dict[Key, Decimal]:
    rows = (
        Reservation.objects.filter(state=Reservation.State.ACTIVE)
        .order_by()
        .values_list("item_id", "location_id", "lot_id")
        .annotate(total=Sum(F("quantity") - F("quantity_consumed")))
    )
    return {(item_id, location_id, lot_id): total for item_id, location_id, lot_id, total in rows}


def ledger_differences() -> list[dict[str, Any]]:
    """Where balances disagree with the ledger (on hand) or with the active reservations
    (reserved). Empty when the books are clean."""
    expected_on_hand = _ledger_on_hand()
    expected_reserved = _reservations_open()
    found: list[dict[str, Any]] = []
    seen: set[Key] = set()
    rows = StockBalance.objects.order_by("pk").values_list(
        "pk", "item_id", "location_id", "lot_id", "on_hand", "reserved"
    )
    for pk, item_id, location_id, lot_id, on_hand, reserved in rows.iterator(chunk_size=5000):
        key = (item_id, location_id, lot_id)
        seen.add(key)
        for field, booked, expected in (
            ("on_hand", on_hand, expected_on_hand.get(key, ZERO)),
            ("reserved", reserved, expected_reserved.get(key, ZERO)),
        ):
            if booked != expected:
                found.append(_difference(key, field, booked, expected, pk))
    for key in sorted(set(expected_on_hand) - seen, key=str):
        if expected_on_hand[key] != 0:
            found.append(_difference(key, "on_hand", None, expected_on_hand[key], None))
    for key in sorted(set(expected_reserved) - seen, key=str):
        if expected_reserved[key] != 0:
            found.append(_difference(key, "reserved", None, expected_reserved[key], None))
    _name(found)
    return found


def _difference(
    key: Key, field: str, booked: Decimal | None, expected: Decimal, balance_id: int | None
) -> dict[str, Any]:
    item_id, location_id, lot_id = key
    return {
        "balance_id": balance_id,
        "item_id": item_id,
        "location_id": location_id,
        "lot_id": lot_id,
        "field": field,
        "balance": booked,
        "expected": expected,
    }


def _name(found: list[dict[str, Any]]) -> None:
    """Add SKU, location code and lot number to each difference (three queries at most)."""
    if not found:
        return
    skus = dict(Item.objects.filter(pk__in={d["item_id"] for d in found}).values_list("pk", "sku"))
    codes = dict(
        Location.objects.filter(pk__in={d["location_id"] for d in found}).values_list("pk", "code")
    )
    lots = dict(
        Lot.objects.filter(pk__in={d["lot_id"] for d in found if d["lot_id"]}).values_list(
            "pk", "number"
        )
    )
    for difference in found:
        difference["item"] = skus.get(difference["item_id"], "?")
        difference["location"] = codes.get(difference["location_id"], "?")
        difference["lot"] = lots.get(difference["lot_id"]) if difference["lot_id"] else None
    found.sort(key=lambda d: (d["item"], d["location"], d["lot"] or "", d["field"]))
