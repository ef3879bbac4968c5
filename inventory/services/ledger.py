"""The stock ledger: every movement is one appended move, and the balances it touches are
updated in the same transaction.

Concurrency: each balance is changed by one conditional UPDATE (`... WHERE available >=
quantity`), which on Postgres takes the row lock and re-checks the condition against the
committed row, so two clerks taking the last units cannot both succeed; the database's
check constraints (on hand >= 0, reserved <= on hand) are the last line of defence. The
two balances of a transfer are always updated in the same order, so opposite transfers
do not deadlock.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, ValidationFailed
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode

from ..models import (
    Item,
    Location,
    Lot,
    MoveType,
    QualityHold,
    Reservation,
    StockBalance,
    StockMove,
)

MAX_QUANTITY = Decimal("99999999999")
# Moves that use stock: held, expired or quarantined stock may not take part.
USE_MOVES = frozenset({MoveType.PICK, MoveType.ISSUE, MoveType.SHIPMENT})
# Moves booked against a work order (document_type) that a hold on the order stops.
WORK_ORDER_DOCUMENT = "work_order"
WORK_ORDER_MOVES = frozenset({MoveType.PICK, MoveType.ISSUE, MoveType.PRODUCTION})


class StockUnavailable(Conflict):
    """Not enough available stock (or none usable) for the move or reservation."""

    code = "stock_unavailable"


def quantity_clean(value: Any, *, item: Item | None = None, field: str = "quantity") -> Decimal:
    """A positive quantity with at most three decimals (whole numbers for serials)."""
    try:
        quantity = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(_("Enter a quantity as a number."), field=field) from None
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(_("The quantity must be more than zero."), field=field)
    if quantity > MAX_QUANTITY:
        raise ValidationFailed(_("That quantity is too large."), field=field)
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationFailed(_("Use at most three decimals."), field=field)
    if item is not None and item.tracking == Item.Tracking.SERIAL and quantity != 1:
        raise ValidationFailed(
            _("%(sku)s is serial-tracked: move one serial number at a time.") % {"sku": item.sku},
            field=field,
        )
    return quantity.quantize(Decimal("0.001"))


def stock_blockers(
    *,
    item: Item,
    location: Location,
    lot: Lot | None,
    on: dt.date | None = None,
    work_order_id: int | None = None,
) -> list[str]:
    """Why this stock may not be reserved, picked, issued or shipped (empty: usable).
    With `work_order_id`, a hold on that work order blocks it too."""
    reasons: list[str] = []
    if location.type == Location.Type.QUARANTINE:
        reasons.append(_("%(location)s is a quarantine location.") % {"location": location})
    elif not location.active:
        reasons.append(_("%(location)s is not in use.") % {"location": location})
    if lot is not None and lot.is_expired(on):
        reasons.append(
            _("Lot %(lot)s expired on %(date)s.") % {"lot": lot.number, "date": lot.expiry_date}
        )
    covering = Q(scope=QualityHold.Scope.LOCATION, location=location)
    if lot is not None:
        covering |= Q(scope=QualityHold.Scope.LOT, lot=lot)
    if work_order_id is not None:
        covering |= Q(scope=QualityHold.Scope.WORK_ORDER, work_order_id=work_order_id)
    for hold in QualityHold.objects.filter(covering, state=QualityHold.State.ACTIVE).only(
        "number", "scope", "note"
    ):
        reasons.append(
            _("Quality hold %(hold)s applies: %(why)s") % {"hold": hold.number, "why": hold.note}
        )
    return reasons


def _balance_filter(item: Item, location: Location, lot: Lot | None) -> dict[str, Any]:
    return {"item": item, "location": location, "lot": lot}


def _describe(item: Item, location: Location, lot: Lot | None) -> str:
    lot_part = _(" lot %(lot)s") % {"lot": lot.number} if lot is not None else ""
    return f"{item.sku} @ {location.code}{lot_part}"


def _take(
    *,
    item: Item,
    location: Location,
    lot: Lot | None,
    quantity: Decimal,
    from_reserved: bool,
    unless_held_for: Location | None = None,
) -> None:
    """Take quantity out of a balance: from its available stock, or from reserved stock.
    With `unless_held_for`, a location hold on the source refuses it in the same update."""
    balances = StockBalance.objects.filter(**_balance_filter(item, location, lot))
    guarded = balances
    if unless_held_for is not None:
        guarded = balances.exclude(
            Exists(
                QualityHold.objects.filter(
                    scope=QualityHold.Scope.LOCATION,
                    location_id=OuterRef("location_id"),
                    state=QualityHold.State.ACTIVE,
                )
            )
        )
    if from_reserved:
        changed = guarded.filter(on_hand__gte=quantity, reserved__gte=quantity).update(
            on_hand=F("on_hand") - quantity, reserved=F("reserved") - quantity
        )
    else:
        changed = guarded.filter(available__gte=quantity).update(on_hand=F("on_hand") - quantity)
    if changed:
        return
    if unless_held_for is not None:
        _refuse_leaving_held_location(location, unless_held_for)
    row = balances.values("on_hand", "available").first()
    available = row["available"] if row else Decimal("0")
    raise StockUnavailable(
        _("Only %(available)s %(unit)s of %(stock)s are available; %(wanted)s requested.")
        % {
            "available": quantity_text(available),
            "unit": item.unit,
            "stock": _describe(item, location, lot),
            "wanted": quantity_text(quantity),
        },
        field="quantity",
    )


def _put(
    *, item: Item, location: Location, lot: Lot | None, quantity: Decimal, reserved: bool
) -> None:
    """Add quantity to a balance, creating it the first time."""
    delta: dict[str, Any] = {"on_hand": F("on_hand") + quantity}
    if reserved:
        delta["reserved"] = F("reserved") + quantity
    balances = StockBalance.objects.filter(**_balance_filter(item, location, lot))
    if balances.update(**delta):
        return
    try:
        with transaction.atomic():
            StockBalance.objects.create(
                item=item,
                location=location,
                lot=lot,
                on_hand=quantity,
                reserved=quantity if reserved else Decimal("0"),
            )
    except IntegrityError:  # another move created it a moment ago
        balances.update(**delta)


def move_post(
    *,
    type: str,  # noqa: A002
    item: Item,
    quantity: Decimal | int | str,
    actor: Any,
    from_location: Location | None = None,
    to_location: Location | None = None,
    lot: Lot | None = None,
    reservation: Reservation | None = None,
    reason_code: ReasonCode | str | None = None,
    note: str = "",
    document_type: str = "",
    document_id: int | None = None,
    document_ref: str = "",
    partner: str = "",
    occurred_at: dt.datetime | None = None,
    reverses: StockMove | None = None,
) -> StockMove:
    """Append one move and update the balances it touches, or change nothing.

    With `reservation`, the quantity comes out of that reservation's reserved stock: a
    move to another location carries the reservation along (split when partial), a move
    out of the plant (issue, shipment, scrap) consumes it. The carried reservation is
    returned as `move.carried_reservation`.
    """
    if type not in MoveType.values:
        raise ValidationFailed(_("Unknown move type %(type)s.") % {"type": type}, field="type")
    quantity = quantity_clean(quantity, item=item)
    if from_location is None and to_location is None:
        raise ValidationFailed(_("Say where the stock comes from or goes to."), field="location")
    if from_location is not None and from_location == to_location:
        raise ValidationFailed(_("From and to are the same location."), field="to_location")
    if not item.active:
        raise ValidationFailed(_("%(sku)s is not active.") % {"sku": item.sku}, field="item")
    if item.is_tracked and lot is None:
        raise ValidationFailed(
            _("%(sku)s is lot-tracked: scan or enter its lot.") % {"sku": item.sku}, field="lot"
        )
    if lot is not None and lot.item_id != item.pk:
        raise ValidationFailed(
            _("Lot %(lot)s belongs to another item, not %(sku)s.")
            % {"lot": lot.number, "sku": item.sku},
            field="lot",
        )
    if to_location is not None and not to_location.active:
        raise ValidationFailed(
            _("%(location)s is not in use.") % {"location": to_location}, field="to_location"
        )
    if reservation is not None:
        _check_reservation(reservation, item=item, location=from_location, lot=lot, qty=quantity)
    reason = reason_code_get(reason_code) if reason_code else None
    held_order = document_id if document_type == WORK_ORDER_DOCUMENT else None
    with transaction.atomic():
        if type in USE_MOVES and from_location is not None:
            blockers = stock_blockers(
                item=item, location=from_location, lot=lot, work_order_id=held_order
            )
            if blockers:
                raise StockUnavailable(" ".join(blockers), field="lot")
        elif held_order is not None and type in WORK_ORDER_MOVES:
            _refuse_held_work_order(held_order)
        # Stock under a location hold may go to quarantine only: checked inside the
        # balance update itself (no extra round trip when nothing is held).
        guard_location_hold = (
            from_location is not None
            and to_location is not None
            and to_location.type != Location.Type.QUARANTINE
        )
        if item.tracking == Item.Tracking.SERIAL and from_location is None and lot is not None:
            # The lot row serialises two receipts of the same serial number.
            Lot.objects.select_for_update().filter(pk=lot.pk).order_by().values_list("pk").first()
            if StockBalance.objects.filter(lot=lot, on_hand__gt=0).exists():
                raise ValidationFailed(
                    _("Serial number %(lot)s is already in stock.") % {"lot": lot.number},
                    field="lot",
                )
        carry = reservation is not None and to_location is not None
        steps: list[tuple[int, str, Location]] = []
        if from_location is not None:
            steps.append((from_location.pk, "take", from_location))
        if to_location is not None:
            steps.append((to_location.pk, "put", to_location))
        for _pk, step, location in sorted(steps, key=lambda s: s[0]):
            if step == "take":
                _take(
                    item=item,
                    location=location,
                    lot=lot,
                    quantity=quantity,
                    from_reserved=reservation is not None,
                    unless_held_for=to_location if guard_location_hold else None,
                )
            else:
                _put(item=item, location=location, lot=lot, quantity=quantity, reserved=carry)
        move = StockMove.objects.create(
            type=type,
            item=item,
            lot=lot,
            from_location=from_location,
            to_location=to_location,
            quantity=quantity,
            occurred_at=occurred_at or timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            reason_code=reason,
            note=(note or "")[:500],
            document_type=document_type,
            document_id=document_id,
            document_ref=document_ref,
            partner=partner,
            reverses=reverses,
        )
        move.carried_reservation = (  # type: ignore[attr-defined]
            _reservation_follow(reservation, quantity, to_location)
            if reservation is not None
            else None
        )
    return move


def _refuse_held_work_order(work_order_id: int) -> None:
    hold = (
        QualityHold.objects.filter(
            scope=QualityHold.Scope.WORK_ORDER,
            work_order_id=work_order_id,
            state=QualityHold.State.ACTIVE,
        )
        .only("number", "note")
        .first()
    )
    if hold is not None:
        raise StockUnavailable(
            _("Quality hold %(hold)s applies: %(why)s") % {"hold": hold.number, "why": hold.note},
            field="work_order",
        )


def _refuse_leaving_held_location(from_location: Location, to_location: Location) -> None:
    """Stock under a location hold stays covered: it may go to quarantine only."""
    if to_location.type == Location.Type.QUARANTINE:
        return
    hold = (
        QualityHold.objects.filter(
            scope=QualityHold.Scope.LOCATION,
            location=from_location,
            state=QualityHold.State.ACTIVE,
        )
        .only("number", "note")
        .first()
    )
    if hold is not None:
        raise StockUnavailable(
            _(
                "Quality hold %(hold)s applies to %(location)s: its stock may only go to "
                "quarantine (%(why)s)"
            )
            % {"hold": hold.number, "location": from_location, "why": hold.note},
            field="from_location",
        )


def _check_reservation(
    reservation: Reservation,
    *,
    item: Item,
    location: Location | None,
    lot: Lot | None,
    qty: Decimal,
) -> None:
    if (
        reservation.state != Reservation.State.ACTIVE
        or reservation.item_id != item.pk
        or location is None
        or reservation.location_id != location.pk
        or reservation.lot_id != (lot.pk if lot is not None else None)
    ):
        raise ValidationFailed(
            _("That stock is not what reservation %(id)s holds.") % {"id": reservation.pk},
            field="lot",
        )
    if qty > reservation.open_quantity:
        raise ValidationFailed(
            _("Only %(open)s are reserved for %(demand)s; %(wanted)s requested.")
            % {
                "open": quantity_text(reservation.open_quantity),
                "demand": reservation.demand_ref,
                "wanted": quantity_text(qty),
            },
            field="quantity",
        )


def _reservation_follow(
    reservation: Reservation, quantity: Decimal, to_location: Location | None
) -> Reservation:
    """Consume the reservation, or carry it to the new location (split if partial)."""
    locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if locked.state != Reservation.State.ACTIVE or locked.open_quantity < quantity:
        raise StockUnavailable(
            _("Reservation %(id)s changed meanwhile: try again.") % {"id": locked.pk}
        )
    if to_location is None:
        locked.quantity_consumed += quantity
        if locked.quantity_consumed == locked.quantity:
            locked.state = Reservation.State.CONSUMED
        locked.save(update_fields=["quantity_consumed", "state"])
        return locked
    if quantity == locked.open_quantity and locked.quantity_consumed == 0:
        locked.location = to_location
        locked.save(update_fields=["location"])
        return locked
    locked.quantity -= quantity
    if locked.quantity == locked.quantity_consumed:
        locked.state = Reservation.State.CONSUMED
    locked.save(update_fields=["quantity", "state"])
    return Reservation.objects.create(
        item_id=locked.item_id,
        location=to_location,
        lot_id=locked.lot_id,
        quantity=quantity,
        demand_type=locked.demand_type,
        demand_id=locked.demand_id,
        demand_ref=locked.demand_ref,
        demand_line=locked.demand_line,
        staged=locked.staged,
        created_by_id=locked.created_by_id,
    )


def move_reverse(
    *, move: StockMove, actor: Any, reason_code: ReasonCode | str, note: str = ""
) -> StockMove:
    """Correct a mistaken move with its mirror image; the original stays in the ledger."""
    if move.type == MoveType.REVERSAL:
        raise Conflict(_("A reversal is not reversed again: post a new move instead."))
    if StockMove.objects.filter(reverses=move).exists():
        raise Conflict(_("Move %(id)s is already reversed.") % {"id": move.pk})
    if not (note or "").strip():
        raise ValidationFailed(_("Say why the move is reversed."), field="note")
    try:
        return move_post(
            type=MoveType.REVERSAL,
            item=move.item,
            quantity=move.quantity,
            actor=actor,
            from_location=move.to_location,
            to_location=move.from_location,
            lot=move.lot,
            reason_code=reason_code,
            note=note,
            document_type=move.document_type,
            document_id=move.document_id,
            document_ref=move.document_ref,
            partner=move.partner,
            reverses=move,
        )
    except IntegrityError:  # reversed by someone else a moment ago
        raise Conflict(_("Move %(id)s is already reversed.") % {"id": move.pk}) from None
