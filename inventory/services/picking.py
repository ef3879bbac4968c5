"""Scan-verified picking, shared by every document that picks reserved stock (kits to a
staging location, shipments to the dock).

A document's pick list is its active reservations still away from where it picks to, in
pick-walk order. A pick scans location, item and (for tracked items) lot; a scan that
names something the document does not want there is refused and counted as a mis-pick
(a `ScanRefusal`, the document's `mispicks` counter and `pick.mismatch`), committed in
its own transaction although the pick itself changes nothing. A code that names nothing
at all is refused as an unknown barcode, not counted. A right scan moves the reserved
stock, carrying its reservation, to the document's pick-to location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

from django.db import models, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text

from ..models import Item, Location, Lot, MoveType, Reservation, ScanRefusal, StockMove
from .ledger import move_post, quantity_clean
from .reservations import _free, _lock, _log, _release_locked, _require_active, _state_name


@dataclass(frozen=True)
class PickLine:
    """One reservation still to pick: what, where, how much."""

    reservation: Reservation
    item: Item
    location: Location
    lot: Lot | None
    quantity: Decimal

    @property
    def sku(self) -> str:
        return self.item.sku

    @property
    def location_code(self) -> str:
        return self.location.code

    @property
    def lot_number(self) -> str:
        return self.lot.number if self.lot is not None else ""

    def describe(self) -> str:
        lot = f" lot {self.lot_number}" if self.lot is not None else ""
        return f"{self.sku}{lot} @ {self.location_code}"


@dataclass(frozen=True)
class PickDocument:
    """What a pick is for: the record (a kit, a shipment) whose number the refusals and
    moves name and whose `mispicks` counter a mis-pick raises, and where it picks to."""

    record: models.Model
    document_type: str
    to_location: Location
    # More of the `pick.mismatch` payload: the work order, the orders, ...
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def number(self) -> str:
        return str(self.record.number)  # type: ignore[attr-defined]


def pick_lines(*, reservations: QuerySet[Reservation], to_location_id: int) -> list[PickLine]:
    """The active reservations not yet at the pick-to location, in pick-walk order (the
    location's pick sequence, else its code), in one query."""
    rows = (
        reservations.filter(state=Reservation.State.ACTIVE)
        .exclude(location_id=to_location_id)
        .select_related("item", "location", "lot")
        .annotate(walk=Coalesce(NullIf("location__pick_sequence", Value("")), "location__code"))
        .order_by("walk", "item__sku", "lot__number", "id")
    )
    return [
        PickLine(
            reservation=r, item=r.item, location=r.location, lot=r.lot, quantity=r.open_quantity
        )
        for r in rows
    ]


def scan_refusal_record(
    *,
    document_type: str,
    record: models.Model,
    actor: Any,
    kind: str,
    expected: str,
    scanned: str,
    message: str,
) -> ScanRefusal:
    """Keep one refused scan (in the caller's transaction) for the KPIs."""
    return ScanRefusal.objects.create(
        kind=kind,
        document_type=document_type,
        document_id=record.pk,
        document_ref=str(record.number)[:40],  # type: ignore[attr-defined]
        expected=expected[:120],
        scanned=scanned[:120],
        message=message[:300],
        actor=actor if getattr(actor, "pk", None) else None,
    )


def scan_refuse(
    *,
    document: PickDocument,
    actor: Any,
    kind: str,
    expected: str,
    scanned: str,
    message: str,
    field: str,
) -> NoReturn:
    """Keep the refused scan in its own transaction (a mis-pick also counts and emits
    `pick.mismatch`), then refuse the pick."""
    record = document.record
    with transaction.atomic():
        scan_refusal_record(
            document_type=document.document_type,
            record=record,
            actor=actor,
            kind=kind,
            expected=expected,
            scanned=scanned,
            message=message,
        )
        if kind == ScanRefusal.Kind.MISPICK:
            type(record)._default_manager.filter(pk=record.pk).update(mispicks=F("mispicks") + 1)
            event_emit(
                type="pick.mismatch",
                subject=record,
                payload={
                    "expected": expected,
                    "scanned": scanned,
                    "picker": getattr(actor, "username", ""),
                    "document": document.number,
                    "document_type": document.document_type,
                    **document.payload,
                    "message": message,
                },
                actor=actor,
            )
    raise ValidationFailed(message, field=field, code="scan_refused")


def pick_verify(
    *,
    document: PickDocument,
    actor: Any,
    lines: list[PickLine],
    location_code: str,
    item_code: str,
    lot_code: str = "",
    quantity: Decimal | int | str,
    nothing_left: str,
) -> tuple[PickLine, Decimal]:
    """Check a pick scan against the pick list; return the line it picks and how much.

    A wrong location, item or lot is refused as a mis-pick, an unknown code as an unknown
    barcode (both kept, see `scan_refuse`); more than reserved is refused as bad input.
    `nothing_left` is the message when the list is empty.
    """
    location_code = (location_code or "").strip()
    item_code = (item_code or "").strip()
    lot_code = (lot_code or "").strip()
    qty = quantity_clean(quantity)
    if not lines:
        raise Conflict(nothing_left)
    number = document.number
    next_line = lines[0]
    scanned = " / ".join(code for code in (location_code, item_code, lot_code) if code)

    def refuse(kind: str, expected: str, message: str, field: str) -> NoReturn:
        scan_refuse(
            document=document,
            actor=actor,
            kind=kind,
            expected=expected,
            scanned=scanned,
            message=message,
            field=field,
        )

    location = Location.objects.filter(Q(code=location_code) | Q(barcode=location_code)).first()
    item = Item.objects.filter(sku=item_code).first()
    if location is None or item is None:
        unknown = location_code if location is None else item_code
        refuse(
            ScanRefusal.Kind.UNKNOWN_BARCODE,
            next_line.describe(),
            _("Unknown barcode %(code)s: scan the label again.") % {"code": unknown},
            "location_code" if location is None else "item_code",
        )
    at_location = [line for line in lines if line.location.pk == location.pk]
    if not at_location:
        refuse(
            ScanRefusal.Kind.MISPICK,
            next_line.describe(),
            _("Wrong location: %(kit)s picks nothing at %(location)s. Next: %(next)s.")
            % {"kit": number, "location": location.code, "next": next_line.describe()},
            "location_code",
        )
    of_item = [line for line in at_location if line.item.pk == item.pk]
    if not of_item:
        refuse(
            ScanRefusal.Kind.MISPICK,
            at_location[0].describe(),
            _("Wrong item: %(scanned)s is not for %(kit)s here; pick %(expected)s.")
            % {"scanned": item.sku, "kit": number, "expected": at_location[0].describe()},
            "item_code",
        )
    line = of_item[0]
    if item.is_tracked:
        of_lot = [candidate for candidate in of_item if candidate.lot_number == lot_code]
        if not of_lot:
            refuse(
                ScanRefusal.Kind.MISPICK,
                line.describe(),
                _("Wrong lot: %(scanned)s is not reserved for %(kit)s; pick lot %(lot)s.")
                % {
                    "scanned": lot_code or _("(none)"),
                    "kit": number,
                    "lot": " / ".join(candidate.lot_number for candidate in of_item),
                },
                "lot_code",
            )
        line = of_lot[0]
    if qty > line.quantity:
        raise ValidationFailed(
            _("Only %(open)s %(unit)s of %(line)s are reserved for %(kit)s; %(wanted)s scanned.")
            % {
                "open": quantity_text(line.quantity),
                "unit": item.unit,
                "line": line.describe(),
                "kit": number,
                "wanted": quantity_text(qty),
            },
            field="quantity",
        )
    return line, qty


def pick_move(
    *, document: PickDocument, actor: Any, line: PickLine, quantity: Decimal
) -> StockMove:
    """Move a verified pick to the document's pick-to location, carrying its reservation
    (the carried reservation is `move.carried_reservation`)."""
    return move_post(
        type=MoveType.PICK,
        item=line.item,
        quantity=quantity,
        actor=actor,
        from_location=line.location,
        to_location=document.to_location,
        lot=line.lot,
        reservation=line.reservation,
        document_type=document.document_type,
        document_id=document.record.pk,
        document_ref=document.number,
    )


def reservation_reduce(
    *, reservation: Reservation, quantity: Decimal, actor: Any, reason: str
) -> Reservation:
    """Free part of a reservation's open quantity (all of it releases it): a short pick
    found less than was reserved. Kept in the transition history with the reason."""
    with transaction.atomic():
        locked = _lock(reservation)
        _require_active(locked, "reduce")
        if quantity >= locked.open_quantity:
            return _release_locked(locked, actor=actor, reason=reason)
        _free(locked, quantity)
        state = _state_name(locked)
        locked.quantity -= quantity
        locked.save(update_fields=["quantity"])
        _log(
            locked,
            transition="reduce",
            from_state=state,
            to_state=state,
            actor=actor,
            comment=_("%(qty)s freed. %(why)s") % {"qty": quantity_text(quantity), "why": reason},
        )
    return locked
