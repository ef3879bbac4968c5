"""Material and work orders: components issued (explicitly, or by backflush when an
operation completes), output received as a new lot whose genealogy names every lot
issued to the work order.

Every move here is booked on the work order (document type "work_order"), so the ledger
refuses it while a hold on that work order is active, and WIP and the trace read it back.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import action_permission_require
from mes.core.errors import Conflict, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text

from ..models import (
    DemandType,
    Item,
    Location,
    Lot,
    LotGenealogy,
    MoveType,
    Reservation,
    StockMove,
)
from ..selectors import holds_for_work_order
from .ledger import WORK_ORDER_DOCUMENT, StockUnavailable, move_post, quantity_clean
from .receipts import lot_number_free
from .reservations import reservable_balances

MOVE_STOCK = "inventory.add_stockmove"


def _refuse_if_held(work_order_id: int, work_order_ref: str) -> None:
    holds = holds_for_work_order(work_order_id=work_order_id)
    if holds:
        raise StockUnavailable(
            _("Quality hold %(hold)s applies to %(wo)s: %(why)s")
            % {"hold": holds[0].number, "wo": work_order_ref, "why": holds[0].note},
            field="work_order",
        )


def _issue(
    *,
    work_order_id: int,
    work_order_ref: str,
    item: Item,
    quantity: Decimal,
    location: Location,
    lot: Lot | None,
    actor: Any,
    reservation: Reservation | None = None,
) -> StockMove:
    return move_post(
        type=MoveType.ISSUE,
        item=item,
        quantity=quantity,
        actor=actor,
        from_location=location,
        lot=lot,
        reservation=reservation,
        document_type=WORK_ORDER_DOCUMENT,
        document_id=work_order_id,
        document_ref=work_order_ref,
    )


def work_order_issue(
    *,
    work_order_id: int,
    work_order_ref: str,
    item: Item,
    quantity: Decimal | int | str,
    from_location: Location,
    actor: Any,
    lot: Lot | None = None,
) -> StockMove:
    """Issue a component to the work order by hand. The work order's own reservation of
    that stock is used when it covers the quantity; otherwise free stock is issued."""
    action_permission_require(actor, MOVE_STOCK, _("issue material"))
    qty = quantity_clean(quantity, item=item)
    with transaction.atomic():
        _refuse_if_held(work_order_id, work_order_ref)
        reservation = (
            Reservation.objects.filter(
                demand_type=DemandType.WORK_ORDER,
                demand_id=work_order_id,
                state=Reservation.State.ACTIVE,
                item=item,
                location=from_location,
                lot=lot,
            )
            .order_by("-staged", "id")
            .first()
        )
        if reservation is not None and reservation.open_quantity < qty:
            reservation = None
        return _issue(
            work_order_id=work_order_id,
            work_order_ref=work_order_ref,
            item=item,
            quantity=qty,
            location=from_location,
            lot=lot,
            actor=actor,
            reservation=reservation,
        )


def work_order_backflush(
    *,
    work_order_id: int,
    work_order_ref: str,
    components: list[tuple[Item, Decimal]],
    actor: Any,
) -> list[StockMove]:
    """Consume what an operation used of its backflush components: the work order's
    staged reservations first, then free line-side stock (in the item's FIFO/FEFO order).
    Components that are not backflush items are skipped (kits or explicit issues bring
    them). Not enough at the line: nothing is booked and the shortfall is named."""
    action_permission_require(actor, MOVE_STOCK, _("backflush material"))
    wanted: list[tuple[Item, Decimal]] = []
    for item, quantity in components or []:
        if item.backflush:
            wanted.append((item, quantity_clean(quantity, field="components")))
    moves: list[StockMove] = []
    with transaction.atomic():
        _refuse_if_held(work_order_id, work_order_ref)
        for item, quantity in wanted:
            remaining = quantity
            staged = Reservation.objects.filter(
                demand_type=DemandType.WORK_ORDER,
                demand_id=work_order_id,
                state=Reservation.State.ACTIVE,
                staged=True,
                item=item,
            ).select_related("location", "lot")
            for reservation in staged.order_by("id"):
                take = min(reservation.open_quantity, remaining)
                if take <= 0:
                    break
                moves.append(
                    _issue(
                        work_order_id=work_order_id,
                        work_order_ref=work_order_ref,
                        item=item,
                        quantity=take,
                        location=reservation.location,
                        lot=reservation.lot,
                        actor=actor,
                        reservation=reservation,
                    )
                )
                remaining -= take
            if remaining > 0:
                line_side = reservable_balances(item=item).filter(
                    location__type=Location.Type.LINE_SIDE
                )
                for balance in line_side:
                    take = min(balance.available, remaining)
                    if take <= 0:
                        break
                    moves.append(
                        _issue(
                            work_order_id=work_order_id,
                            work_order_ref=work_order_ref,
                            item=item,
                            quantity=take,
                            location=balance.location,
                            lot=balance.lot,
                            actor=actor,
                        )
                    )
                    remaining -= take
            if remaining > 0:
                raise StockUnavailable(
                    _(
                        "Backflush of %(wo)s is short %(missing)s %(unit)s of %(sku)s at the "
                        "line: stage or move it there first."
                    )
                    % {
                        "wo": work_order_ref,
                        "missing": quantity_text(remaining),
                        "unit": item.unit,
                        "sku": item.sku,
                    },
                    field="components",
                )
    return moves


def issued_lots(*, work_order_id: int) -> dict[int, Decimal]:
    """{lot id: quantity} issued to the work order and not reversed."""
    rows = (
        StockMove.objects.filter(
            document_type=WORK_ORDER_DOCUMENT,
            document_id=work_order_id,
            type=MoveType.ISSUE,
            lot__isnull=False,
            reversed_by__isnull=True,
        )
        .values("lot_id")
        .annotate(quantity=Sum("quantity"))
        .order_by("lot_id")
    )
    return {row["lot_id"]: row["quantity"] for row in rows}


def production_receive(
    *,
    work_order_id: int,
    work_order_ref: str,
    item: Item,
    quantity: Decimal | int | str,
    to_location: Location,
    actor: Any,
    lot_number: str = "",
) -> Lot | None:
    """Receive the work order's output. A lot-tracked item comes in as a new lot (the
    work order's number unless one is given) linked to every lot issued to the work order;
    an untracked item has no lot (None is returned)."""
    action_permission_require(actor, MOVE_STOCK, _("receive production"))
    qty = quantity_clean(quantity, item=item)
    lot_number = (lot_number or "").strip()
    work_order_ref = (work_order_ref or "").strip()
    errors: dict[str, list[str]] = {}
    if not work_order_ref:
        errors["work_order_ref"] = [_("Name the work order.")]
    if to_location.type == Location.Type.SITE or not to_location.active:
        errors["to_location"] = [
            _("%(location)s holds no stock: scan a stock, WIP or line-side location.")
            % {"location": to_location.code}
        ]
    if lot_number and not item.is_tracked:
        errors["lot_number"] = [
            _("%(sku)s is not lot-tracked: leave the lot number empty.") % {"sku": item.sku}
        ]
    if len(lot_number) > 64:
        errors["lot_number"] = [_("A lot number is at most 64 characters.")]
    if errors:
        raise ValidationFailed(_("The production receipt is not valid."), errors=errors)
    today = timezone.localdate()
    with transaction.atomic():
        _refuse_if_held(work_order_id, work_order_ref)
        lot: Lot | None = None
        if item.is_tracked:
            if lot_number and Lot.objects.filter(item=item, number=lot_number).exists():
                raise ValidationFailed(
                    _("%(sku)s already has lot %(lot)s: enter a new number, or leave it empty.")
                    % {"sku": item.sku, "lot": lot_number},
                    field="lot_number",
                )
            try:
                with transaction.atomic():
                    lot = Lot.objects.create(
                        item=item,
                        number=lot_number or lot_number_free(item=item, candidate=work_order_ref),
                        produced_on=today,
                        expiry_date=(
                            today + dt.timedelta(days=item.shelf_life_days)
                            if item.shelf_life_days
                            else None
                        ),
                        is_serial=item.tracking == Item.Tracking.SERIAL,
                        produced_by_ref=work_order_ref,
                    )
            except IntegrityError:
                raise Conflict(
                    _("Another output of %(wo)s was numbered a moment ago: try again.")
                    % {"wo": work_order_ref}
                ) from None
            consumed = issued_lots(work_order_id=work_order_id)
            LotGenealogy.objects.bulk_create(
                [
                    LotGenealogy(
                        produced=lot,
                        consumed_id=lot_id,
                        quantity=issued,
                        work_order_id=work_order_id,
                        work_order_ref=work_order_ref,
                    )
                    for lot_id, issued in consumed.items()
                ]
            )
        move_post(
            type=MoveType.PRODUCTION,
            item=item,
            quantity=qty,
            actor=actor,
            to_location=to_location,
            lot=lot,
            document_type=WORK_ORDER_DOCUMENT,
            document_id=work_order_id,
            document_ref=work_order_ref,
        )
        event_emit(
            type="production.received",
            subject=item,
            payload={
                "item": item.sku,
                "quantity": float(qty),
                "work_order": work_order_ref,
                "lot": lot.number if lot is not None else "",
                "location": to_location.code,
            },
            actor=actor,
        )
    return lot
