"""Moves people book by hand: transfers between locations, scrap, and the governed ones,
adjustments and cycle counts (Warehouse lead, reason code). All go through the ledger."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import permission_require
from mes.core.errors import NotPermitted, ValidationFailed
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode

from ..models import CycleCount, Item, Location, Lot, MoveType, StockBalance, StockMove
from .ledger import WORK_ORDER_DOCUMENT, StockUnavailable, move_post, quantity_clean

MOVE = "inventory.add_stockmove"
ADJUST = "inventory.adjust_stock"
RELEASE_HOLD = "inventory.release_hold"
TRANSFER_TYPES = (MoveType.TRANSFER, MoveType.PUT_AWAY)


def _check_lot(item: Item, lot: Lot | None) -> None:
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


def stock_transfer(
    *,
    item: Item,
    from_location: Location,
    to_location: Location,
    quantity: Decimal | int | str,
    actor: Any,
    lot: Lot | None = None,
    note: str = "",
    type: str = MoveType.TRANSFER,  # noqa: A002
) -> StockMove:
    """Move available stock from one location to another (reserved stock stays with its
    demand). Stock leaves quarantine only with Quality's word (`release_hold`)."""
    permission_require(actor, MOVE, _("You are not allowed to move stock."))
    if type not in TRANSFER_TYPES:
        raise ValidationFailed(
            _("A transfer is booked as %(types)s.") % {"types": ", ".join(TRANSFER_TYPES)},
            field="type",
        )
    if (
        from_location.type == Location.Type.QUARANTINE
        and to_location.type != Location.Type.QUARANTINE
        and not actor.has_perm(RELEASE_HOLD)
    ):
        raise NotPermitted(
            _("%(location)s is a quarantine location: only Quality moves stock out of it.")
            % {"location": from_location}
        )
    return move_post(
        type=type,
        item=item,
        quantity=quantity,
        actor=actor,
        from_location=from_location,
        to_location=to_location,
        lot=lot,
        note=note,
    )


def _delta_clean(value: Any) -> Decimal:
    try:
        delta = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            _("Enter the change as a number, e.g. -2 or 5."), field="quantity_delta"
        ) from None
    if not delta.is_finite() or delta == 0:
        raise ValidationFailed(
            _("An adjustment changes the quantity: enter more or less than zero."),
            field="quantity_delta",
        )
    return delta


def _adjust(
    *,
    item: Item,
    location: Location,
    lot: Lot | None,
    delta: Decimal,
    actor: Any,
    reason: ReasonCode,
    note: str,
    document_type: str = "",
    document_id: int | None = None,
    document_ref: str = "",
) -> StockMove:
    """Book a difference: more found is put in, less found is taken out of available
    stock (reserved stock is not taken: its reservations go first)."""
    quantity = quantity_clean(abs(delta), item=item, field="quantity_delta")
    try:
        return move_post(
            type=MoveType.ADJUSTMENT,
            item=item,
            quantity=quantity,
            actor=actor,
            from_location=location if delta < 0 else None,
            to_location=location if delta > 0 else None,
            lot=lot,
            reason_code=reason,
            note=note,
            document_type=document_type,
            document_id=document_id,
            document_ref=document_ref,
        )
    except StockUnavailable as exc:
        reserved = (
            StockBalance.objects.filter(item=item, location=location, lot=lot)
            .values_list("reserved", flat=True)
            .first()
        )
        if reserved:
            raise StockUnavailable(
                _("%(message)s %(reserved)s %(unit)s are reserved: release them first.")
                % {"message": exc.message, "reserved": quantity_text(reserved), "unit": item.unit},
                field="quantity",
            ) from None
        raise


def stock_adjust(
    *,
    item: Item,
    location: Location,
    quantity_delta: Decimal | int | str,
    actor: Any,
    reason_code: ReasonCode | str | None,
    note: str,
    lot: Lot | None = None,
) -> StockMove:
    """Correct the stock by a signed quantity (governed: Warehouse lead, reason code and
    a note say why)."""
    permission_require(actor, ADJUST, _("Only a warehouse lead adjusts stock."))
    delta = _delta_clean(quantity_delta)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say why the stock is adjusted."), field="note")
    reason = reason_code_get(reason_code)
    _check_lot(item, lot)
    with transaction.atomic():
        return _adjust(
            item=item,
            location=location,
            lot=lot,
            delta=delta,
            actor=actor,
            reason=reason,
            note=note,
        )


def _count_clean(value: Any, item: Item) -> Decimal:
    try:
        counted = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            _("Enter the counted quantity as a number."), field="counted_quantity"
        ) from None
    if not counted.is_finite() or counted < 0:
        raise ValidationFailed(_("The counted quantity is zero or more."), field="counted_quantity")
    if counted == 0:
        return Decimal("0.000")
    quantity_clean(counted, field="counted_quantity")  # size and decimals
    if item.tracking == Item.Tracking.SERIAL and counted != 1:
        raise ValidationFailed(_("A serial number is counted as 0 or 1."), field="counted_quantity")
    return counted.quantize(Decimal("0.001"))


def cycle_count_record(
    *,
    item: Item,
    location: Location,
    counted_quantity: Decimal | int | str,
    actor: Any,
    reason_code: ReasonCode | str | None = None,
    note: str = "",
    lot: Lot | None = None,
) -> CycleCount:
    """Record what was counted on the shelf. A difference from the system is booked as an
    adjustment (reason code required); an equal count books nothing."""
    permission_require(actor, ADJUST, _("Only a warehouse lead books cycle counts."))
    counted = _count_clean(counted_quantity, item)
    _check_lot(item, lot)
    note = (note or "").strip()
    reason = reason_code_get(reason_code) if reason_code else None
    with transaction.atomic():
        # The balance row stays locked until the count is booked (Postgres).
        row = (
            StockBalance.objects.select_for_update()
            .filter(item=item, location=location, lot=lot)
            .order_by()
            .order_by("pk")  # not the default ordering: it joins the nullable lot
            .values_list("on_hand", flat=True)
            .first()
        )
        system = row if row is not None else Decimal("0.000")
        difference = counted - system
        if difference != 0 and reason is None:
            raise ValidationFailed(
                _("The count differs from the system by %(diff)s %(unit)s: choose a reason code.")
                % {"diff": quantity_text(difference), "unit": item.unit},
                field="reason_code",
            )
        count = CycleCount.objects.create(
            item=item,
            location=location,
            lot=lot,
            system_quantity=system,
            counted_quantity=counted,
            counted_by=actor,
            counted_at=timezone.now(),
            reason_code=reason,
            note=note,
        )
        if reason is not None and difference != 0:
            count.adjustment = _adjust(
                item=item,
                location=location,
                lot=lot,
                delta=difference,
                actor=actor,
                reason=reason,
                note=note
                or _("Cycle count: %(counted)s counted, %(system)s booked.")
                % {"counted": quantity_text(counted), "system": quantity_text(system)},
                document_type="cycle_count",
                document_id=count.pk,
                document_ref=f"COUNT-{count.pk}",
            )
            count.save(update_fields=["adjustment"])
    return count


def stock_scrap(
    *,
    item: Item,
    location: Location,
    quantity: Decimal | int | str,
    actor: Any,
    reason_code: ReasonCode | str | None,
    note: str = "",
    lot: Lot | None = None,
    work_order_id: int | None = None,
    work_order_ref: str = "",
) -> StockMove:
    """Write off damaged or bad stock with a reason (held stock may be scrapped: that is
    how a hold often ends). Only available stock: reserved stock is released first."""
    permission_require(actor, MOVE, _("You are not allowed to scrap stock."))
    reason = reason_code_get(reason_code)
    _check_lot(item, lot)
    with transaction.atomic():
        return move_post(
            type=MoveType.SCRAP,
            item=item,
            quantity=quantity,
            actor=actor,
            from_location=location,
            lot=lot,
            reason_code=reason,
            note=note,
            document_type=WORK_ORDER_DOCUMENT if work_order_id is not None else "",
            document_id=work_order_id,
            document_ref=(work_order_ref or "")[:40],
        )
