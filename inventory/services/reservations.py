"""Reservations: available stock set aside for a demand (a work order's component, a
shipment line), lot by lot in the item's policy order (FIFO or FEFO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.events import event_emit

from ..models import DemandType, Item, Location, QualityHold, Reservation, StockBalance
from .ledger import _plain, quantity_clean

# Where reservable stock sits: not at receiving (not yet inspected), quarantine,
# shipping (already picked for a shipment) or WIP.
RESERVABLE_LOCATION_TYPES = (Location.Type.STOCK, Location.Type.STAGING, Location.Type.LINE_SIDE)


@dataclass
class ReservationOutcome:
    reservations: list[Reservation] = field(default_factory=list)
    reserved: Decimal = Decimal("0")
    shortfall: Decimal = Decimal("0")


def reservable_balances(*, item: Item, on: Any = None) -> QuerySet[StockBalance]:
    """Balances of the item that may be reserved, in the item's policy order."""
    today = on or timezone.localdate()
    held = QualityHold.objects.filter(state=QualityHold.State.ACTIVE).filter(
        Q(scope=QualityHold.Scope.LOT, lot=OuterRef("lot"))
        | Q(scope=QualityHold.Scope.LOCATION, location=OuterRef("location"))
    )
    balances = (
        StockBalance.objects.filter(
            item=item,
            available__gt=0,
            location__active=True,
            location__type__in=RESERVABLE_LOCATION_TYPES,
        )
        .filter(
            Q(lot__isnull=True) | Q(lot__expiry_date__isnull=True) | Q(lot__expiry_date__gte=today)
        )
        .exclude(Exists(held))
        .select_related("location", "lot")
    )
    fifo = [
        Coalesce("lot__received_on", "lot__produced_on").asc(nulls_first=True),
        F("lot__created_at").asc(nulls_first=True),
        "id",
    ]
    if item.reservation_policy == Item.Policy.FEFO:
        return balances.order_by(F("lot__expiry_date").asc(nulls_last=True), *fifo)
    return balances.order_by(*fifo)


def reserve(
    *,
    item: Item,
    quantity: Decimal | int | str,
    demand_type: str,
    demand_id: int,
    demand_ref: str,
    actor: Any,
    demand_line: int | None = None,
    emit_shortage: bool = True,
) -> ReservationOutcome:
    """Reserve what is available, partially if need be; a shortfall emits
    `material.shortage` naming the demand and the missing quantity."""
    if demand_type not in DemandType.values:
        raise ValueError(f"unknown demand type {demand_type!r}")
    wanted = quantity_clean(quantity, item=None)
    outcome = ReservationOutcome()
    with transaction.atomic():
        remaining = wanted
        for balance in reservable_balances(item=item):
            if remaining <= 0:
                break
            take = min(balance.available, remaining)
            # Conditional update: under a concurrent reservation the row is re-checked
            # after the other commits; on a miss, take what is left of it now.
            for _attempt in range(3):
                if take <= 0:
                    break
                if (
                    StockBalance.objects.filter(pk=balance.pk, available__gte=take).update(
                        reserved=F("reserved") + take
                    )
                    == 1
                ):
                    outcome.reservations.append(
                        Reservation.objects.create(
                            item=item,
                            location=balance.location,
                            lot=balance.lot,
                            quantity=take,
                            demand_type=demand_type,
                            demand_id=demand_id,
                            demand_ref=demand_ref,
                            demand_line=demand_line,
                            created_by=actor if getattr(actor, "pk", None) else None,
                        )
                    )
                    remaining -= take
                    outcome.reserved += take
                    break
                now_available = (
                    StockBalance.objects.filter(pk=balance.pk)
                    .values_list("available", flat=True)
                    .first()
                ) or Decimal("0")
                take = min(now_available, remaining)
        outcome.shortfall = remaining
        if remaining > 0 and emit_shortage:
            event_emit(
                type="material.shortage",
                subject=item,
                payload={
                    "item": item.sku,
                    "missing_quantity": float(remaining),
                    "demand": demand_ref,
                    "demand_type": demand_type,
                    "requested_quantity": float(wanted),
                    "message": _("%(demand)s is short %(missing)s %(unit)s of %(sku)s.")
                    % {
                        "demand": demand_ref,
                        "missing": _plain(remaining),
                        "unit": item.unit,
                        "sku": item.sku,
                    },
                },
                actor=actor,
            )
    return outcome
