"""Receipts: what the ERP announced (purchase order lines, ASNs), received at the dock,
inspected, then put away into stock or rejected to quarantine.

States: expected -> received -> inspected -> put_away, or rejected (from received or
inspected). Over- and under-receipt follow the item's tolerances. A delivery that is
short beyond the tolerance is still taken in when the clerk writes why (the goods are on
the dock; the missing quantity is the buyer's follow-up, flagged by `receipt.received`
with `short: true`); one over the tolerance is refused (it goes back to the supplier).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import action_permission_require
from mes.core.errors import Conflict, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run

from ..models import RECEIVE, ExpectedReceipt, Item, Location, Lot, MoveType, StockMove
from .ledger import move_post, quantity_clean

RECEIPT_DOCUMENT = "receipt"
# Where accepted goods may be put away.
PUT_AWAY_LOCATION_TYPES = (Location.Type.STOCK, Location.Type.LINE_SIDE, Location.Type.STAGING)
_SERIAL_SPLIT = re.compile(r"[\s,;]+")
_THOUSANDTH = Decimal("0.001")


def _date(value: dt.date | str, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=field) from None


# --- expected receipts (from the ERP) --------------------------------------------------


def expected_receipt_upsert(
    *,
    external_id: str,
    item: Item,
    quantity_expected: Decimal | int | str,
    expected_date: dt.date | str,
    supplier: str = "",
    po_number: str = "",
    po_line: str = "",
) -> tuple[ExpectedReceipt, bool]:
    """Create or update an expected receipt by the ERP's id; sending the same record
    again changes nothing. Once goods arrived the receipt is the dock's record: a change
    is refused (sending it unchanged is still fine)."""
    external_id = (external_id or "").strip()
    errors: dict[str, list[str]] = {}
    if not external_id:
        errors["external_id"] = [_("The ERP id is required.")]
    elif len(external_id) > 64:
        errors["external_id"] = [_("The ERP id is at most 64 characters.")]
    if not item.active:
        errors["item"] = [_("%(sku)s is not active.") % {"sku": item.sku}]
    try:
        quantity = quantity_clean(quantity_expected, field="quantity_expected")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        date = _date(expected_date, "expected_date")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    for name, value, limit in [
        ("supplier", supplier, 120),
        ("po_number", po_number, 40),
        ("po_line", po_line, 10),
    ]:
        if len((value or "").strip()) > limit:
            errors[name] = [_("At most %(n)s characters.") % {"n": limit}]
    if errors:
        raise ValidationFailed(_("The expected receipt is not valid."), errors=errors)
    values = {
        "item_id": item.pk,
        "quantity_expected": quantity,
        "expected_date": date,
        "supplier": (supplier or "").strip(),
        "po_number": (po_number or "").strip(),
        "po_line": (po_line or "").strip(),
    }
    with transaction.atomic():
        receipt = (
            ExpectedReceipt.objects.select_for_update().filter(external_id=external_id).first()
        )
        if receipt is None:
            try:
                with transaction.atomic():
                    receipt = ExpectedReceipt.objects.create(
                        number=number_placeholder(), external_id=external_id, **values
                    )
                    number_assign(receipt, "RC")
                return receipt, True
            except IntegrityError:  # the same record sent twice at once: the other won
                receipt = ExpectedReceipt.objects.select_for_update().get(external_id=external_id)
        changed = [name for name, value in values.items() if getattr(receipt, name) != value]
        if not changed:
            return receipt, False
        if receipt.state != ExpectedReceipt.State.EXPECTED:
            raise Conflict(
                _("Receipt %(number)s is %(state)s: it can no longer be changed (%(fields)s).")
                % {
                    "number": receipt.number,
                    "state": receipt.get_state_display().lower(),
                    "fields": ", ".join(name.removesuffix("_id") for name in changed),
                },
                field=changed[0].removesuffix("_id"),
            )
        for name in changed:
            setattr(receipt, name, values[name])
        receipt.save(update_fields=[*changed, "updated_at"])
    return receipt, False


def receipt_by_scan(*, code: str) -> ExpectedReceipt | None:
    """The receipt a scanned code names: its number or ERP id, else the first open
    receipt of a PO number, else of an item SKU (earliest expected first)."""
    code = (code or "").strip()
    if not code:
        return None
    receipts = ExpectedReceipt.objects.select_related("item")
    found = receipts.filter(Q(number__iexact=code) | Q(external_id=code)).first()
    if found is not None:
        return found
    open_receipts = receipts.filter(state=ExpectedReceipt.State.EXPECTED).order_by(
        "expected_date", "id"
    )
    return (
        open_receipts.filter(po_number__iexact=code).first()
        or open_receipts.filter(item__sku__iexact=code).first()
    )


# --- at the dock -------------------------------------------------------------------------


def receipt_tolerance(*, receipt: ExpectedReceipt) -> tuple[Decimal, Decimal]:
    """The quantities the item's tolerances allow for this receipt (low, high)."""
    expected = receipt.quantity_expected
    item = receipt.item
    low = expected * (1 - item.receipt_under_tolerance_pct / 100)
    high = expected * (1 + item.receipt_over_tolerance_pct / 100)
    return (
        low.quantize(_THOUSANDTH, rounding=ROUND_CEILING),
        high.quantize(_THOUSANDTH, rounding=ROUND_FLOOR),
    )


def _receiving_location(item: Item, location: Location | None) -> Location:
    if location is None:
        location = item.default_receiving_location
    if location is None:
        location = (
            Location.objects.filter(type=Location.Type.RECEIVING, active=True)
            .order_by("code")
            .first()
        )
        if location is None:
            raise ValidationFailed(
                _("No receiving location is set up: ask a warehouse lead to add one."),
                field="location",
            )
    if location.type != Location.Type.RECEIVING or not location.active:
        raise ValidationFailed(
            _("%(location)s is not a receiving location in use: receive at the dock.")
            % {"location": location.code},
            field="location",
        )
    return location


def lot_number_free(*, item: Item, candidate: str) -> str:
    """`candidate`, or with a suffix when the item already has a lot of that number."""
    taken = set(
        Lot.objects.filter(item=item, number__startswith=candidate).values_list("number", flat=True)
    )
    number, n = candidate, 1
    while number in taken:
        n += 1
        number = f"{candidate}-{n}"
    return number


def _receipt_lots(
    *,
    receipt: ExpectedReceipt,
    quantity: Decimal,
    supplier_lot: str,
    lot_number: str,
    expiry_date: dt.date | None,
    today: dt.date,
) -> list[tuple[Lot | None, Decimal]]:
    """The lots the delivery comes in as: none (untracked), one lot, or one per serial."""
    item = receipt.item
    if not item.is_tracked:
        if lot_number:
            raise ValidationFailed(
                _("%(sku)s is not lot-tracked: leave the lot number empty.") % {"sku": item.sku},
                field="lot_number",
            )
        return [(None, quantity)]
    if expiry_date is None and item.shelf_life_days:
        expiry_date = today + dt.timedelta(days=item.shelf_life_days)
    if expiry_date is not None and expiry_date < today:
        raise ValidationFailed(
            _("Expiry date %(date)s is past: expired goods are not received.")
            % {"date": expiry_date},
            field="expiry_date",
        )
    if item.tracking == Item.Tracking.SERIAL:
        if quantity != quantity.to_integral_value():
            raise ValidationFailed(
                _("%(sku)s is serial-tracked: receive whole pieces.") % {"sku": item.sku},
                field="quantity",
            )
        numbers = [n for n in _SERIAL_SPLIT.split(lot_number) if n]
        count = int(quantity)
        if not numbers:
            base = f"{receipt.number}-S"
            numbers = [
                lot_number_free(item=item, candidate=f"{base}{i:03d}") for i in range(1, count + 1)
            ]
        elif len(numbers) != count or len(set(numbers)) != count:
            raise ValidationFailed(
                _("Scan %(count)s different serial numbers, one per piece (%(given)s given).")
                % {"count": count, "given": len(numbers)},
                field="lot_number",
            )
    else:
        numbers = [lot_number or lot_number_free(item=item, candidate=f"L-{receipt.number}")]
    too_long = [n for n in numbers if len(n) > 64]
    if too_long:
        raise ValidationFailed(_("A lot number is at most 64 characters."), field="lot_number")
    existing = list(
        Lot.objects.filter(item=item, number__in=numbers).values_list("number", flat=True)
    )
    if existing:
        raise ValidationFailed(
            _("%(sku)s already has lot %(lots)s: enter a new number, or leave it empty.")
            % {"sku": item.sku, "lots": ", ".join(sorted(existing))},
            field="lot_number",
        )
    serial = item.tracking == Item.Tracking.SERIAL
    lots = Lot.objects.bulk_create(
        [
            Lot(
                item=item,
                number=number,
                supplier_lot=supplier_lot,
                supplier=receipt.supplier,
                received_on=today,
                expiry_date=expiry_date,
                is_serial=serial,
            )
            for number in numbers
        ]
    )
    if serial:
        return [(lot, Decimal("1")) for lot in lots]
    return [(lots[0], quantity)]


def receipt_receive(
    *,
    receipt: ExpectedReceipt,
    quantity: Decimal | int | str,
    actor: Any,
    supplier_lot: str = "",
    lot_number: str = "",
    expiry_date: dt.date | None = None,
    location: Location | None = None,
    note: str = "",
) -> ExpectedReceipt:
    """Take the delivery in at the dock: within the item's tolerances (a short delivery
    beyond it only with a note saying why), lot-tracked goods as a new lot (numbered when
    none is given; expiry from the shelf life unless given), into the receiving location.
    Serial-tracked goods take one serial number per piece (separated by spaces)."""
    action_permission_require(actor, RECEIVE, _("receive goods"))
    quantity = quantity_clean(quantity)
    supplier_lot = (supplier_lot or "").strip()[:64]
    lot_number = (lot_number or "").strip()
    note = (note or "").strip()
    today = timezone.localdate()
    with transaction.atomic():
        receipt = transition_run(instance=receipt, transition="receive", user=actor)
        receipt = ExpectedReceipt.objects.select_related("item").get(pk=receipt.pk)
        item = receipt.item
        low, high = receipt_tolerance(receipt=receipt)
        allowed = {
            "number": receipt.number,
            "expected": quantity_text(receipt.quantity_expected),
            "quantity": quantity_text(quantity),
            "low": quantity_text(low),
            "high": quantity_text(high),
            "unit": item.unit,
        }
        if quantity > high:
            raise ValidationFailed(
                _(
                    "%(number)s expects %(expected)s %(unit)s: %(quantity)s is over the "
                    "tolerance. Allowed: %(low)s to %(high)s %(unit)s."
                )
                % allowed,
                field="quantity",
            )
        short = quantity < low
        if short and not note:
            raise ValidationFailed(
                _(
                    "%(number)s expects %(expected)s %(unit)s: %(quantity)s is under the "
                    "tolerance (allowed: %(low)s to %(high)s %(unit)s). To take in a short "
                    "delivery, say why in the note."
                )
                % allowed,
                field="quantity",
            )
        dock = _receiving_location(item, location)
        lots = _receipt_lots(
            receipt=receipt,
            quantity=quantity,
            supplier_lot=supplier_lot,
            lot_number=lot_number,
            expiry_date=expiry_date,
            today=today,
        )
        move_note = note or (
            _("supplier lot %(lot)s") % {"lot": supplier_lot} if supplier_lot else ""
        )
        for lot, lot_quantity in lots:
            move_post(
                type=MoveType.RECEIPT,
                item=item,
                quantity=lot_quantity,
                actor=actor,
                to_location=dock,
                lot=lot,
                note=move_note,
                document_type=RECEIPT_DOCUMENT,
                document_id=receipt.pk,
                document_ref=receipt.number,
                partner=receipt.supplier,
            )
        receipt.quantity_received = quantity
        receipt.lot = lots[0][0]
        receipt.location = dock
        receipt.received_at = timezone.now()
        if note:
            receipt.inspection_note = note
        receipt.save(
            update_fields=[
                "quantity_received",
                "lot",
                "location",
                "received_at",
                "inspection_note",
                "updated_at",
            ]
        )
        event_emit(
            type="receipt.received",
            subject=receipt,
            payload={
                "number": receipt.number,
                "item": item.sku,
                "quantity": float(quantity),
                "quantity_expected": float(receipt.quantity_expected),
                "short": short,
                "missing_quantity": float(receipt.quantity_expected - quantity) if short else 0,
                "lot": ", ".join(lot.number for lot, _q in lots if lot is not None),
                "supplier": receipt.supplier,
                "location": dock.code,
                "note": note,
            },
            actor=actor,
        )
    return receipt


def _received_stock(receipt: ExpectedReceipt) -> list[tuple[int | None, Decimal]]:
    """What the receipt put into its receiving location, per lot."""
    rows = (
        StockMove.objects.filter(
            document_type=RECEIPT_DOCUMENT,
            document_id=receipt.pk,
            type=MoveType.RECEIPT,
            reversed_by__isnull=True,
        )
        .values("lot_id")
        .annotate(quantity=Sum("quantity"))
        .order_by("lot_id")
    )
    return [(row["lot_id"], row["quantity"]) for row in rows]


def _move_received(
    *,
    receipt: ExpectedReceipt,
    to_location: Location,
    type: str,  # noqa: A002
    actor: Any,
    reason_code: ReasonCode | None = None,
    note: str = "",
) -> list[StockMove]:
    received = _received_stock(receipt)
    lots = Lot.objects.in_bulk([lot_id for lot_id, _q in received if lot_id is not None])
    return [
        move_post(
            type=type,
            item=receipt.item,
            quantity=quantity,
            actor=actor,
            from_location=receipt.location,
            to_location=to_location,
            lot=lots.get(lot_id) if lot_id is not None else None,
            reason_code=reason_code,
            note=note,
            document_type=RECEIPT_DOCUMENT,
            document_id=receipt.pk,
            document_ref=receipt.number,
            partner=receipt.supplier,
        )
        for lot_id, quantity in received
    ]


def receipt_inspect(
    *,
    receipt: ExpectedReceipt,
    actor: Any,
    accepted: bool,
    note: str = "",
    reason_code: ReasonCode | str | None = None,
) -> ExpectedReceipt:
    """Record the incoming inspection. Accepted: ready to put away. Rejected (with a
    reason code): its stock moves to quarantine, where nobody may use it."""
    action_permission_require(actor, RECEIVE, _("inspect goods"))
    note = (note or "").strip()
    reason: ReasonCode | None = None
    quarantine: Location | None = None
    if not accepted:
        if not reason_code:
            raise ValidationFailed(_("Give the reason for the rejection."), field="reason_code")
        reason = reason_code_get(reason_code)
        quarantine = (
            Location.objects.filter(type=Location.Type.QUARANTINE, active=True)
            .order_by("code")
            .first()
        )
        if quarantine is None:
            raise ValidationFailed(
                _("No quarantine location is set up: ask a warehouse lead to add one."),
                field="location",
            )
    with transaction.atomic():
        receipt = transition_run(
            instance=receipt,
            transition="inspect" if accepted else "reject",
            user=actor,
            reason_code=reason,
            comment=note,
        )
        receipt = ExpectedReceipt.objects.select_related("item", "location").get(pk=receipt.pk)
        if note:
            receipt.inspection_note = note
            receipt.save(update_fields=["inspection_note", "updated_at"])
        if quarantine is not None:
            _move_received(
                receipt=receipt,
                to_location=quarantine,
                type=MoveType.TRANSFER,
                actor=actor,
                reason_code=reason,
                note=note,
            )
            ExpectedReceipt.objects.filter(pk=receipt.pk).update(location=quarantine)
            receipt.location = quarantine
            event_emit(
                type="receipt.rejected",
                subject=receipt,
                payload={
                    "number": receipt.number,
                    "item": receipt.item.sku,
                    "quantity": float(receipt.quantity_received),
                    "reason": reason.code if reason else "",
                    "supplier": receipt.supplier,
                    "location": quarantine.code,
                    "note": note,
                },
                actor=actor,
            )
    return receipt


def receipt_put_away(
    *, receipt: ExpectedReceipt, to_location: Location | None, actor: Any
) -> ExpectedReceipt:
    """Move inspected goods from the dock into stock (the item's default stock location
    when none is scanned)."""
    action_permission_require(actor, RECEIVE, _("put goods away"))
    with transaction.atomic():
        receipt = transition_run(instance=receipt, transition="put_away", user=actor)
        receipt = ExpectedReceipt.objects.select_related(
            "item__default_stock_location", "location"
        ).get(pk=receipt.pk)
        target = to_location or receipt.item.default_stock_location
        if target is None:
            raise ValidationFailed(_("Scan the location to put it away to."), field="to_location")
        if target.type not in PUT_AWAY_LOCATION_TYPES or not target.active:
            raise ValidationFailed(
                _("%(location)s is a %(type)s location: put away into stock.")
                % {"location": target.code, "type": target.get_type_display().lower()},
                field="to_location",
            )
        _move_received(receipt=receipt, to_location=target, type=MoveType.PUT_AWAY, actor=actor)
        ExpectedReceipt.objects.filter(pk=receipt.pk).update(location=target)
        receipt.location = target
    return receipt


# --- late receipts (beat) ----------------------------------------------------------------


def receipts_report_delayed(*, today: dt.date | None = None) -> int:
    """Emit `material.delayed` for each expected receipt past its date, once per receipt
    per day (a conditional update claims the day, so two beats never both report)."""
    today = today or timezone.localdate()
    late = (
        ExpectedReceipt.objects.filter(
            state=ExpectedReceipt.State.EXPECTED, expected_date__lt=today
        )
        .filter(Q(delay_reported_on__isnull=True) | Q(delay_reported_on__lt=today))
        .select_related("item")
        .order_by("expected_date", "id")
    )
    reported = 0
    with transaction.atomic():
        for receipt in late:
            claimed = (
                ExpectedReceipt.objects.filter(pk=receipt.pk, state=ExpectedReceipt.State.EXPECTED)
                .filter(Q(delay_reported_on__isnull=True) | Q(delay_reported_on__lt=today))
                .update(delay_reported_on=today)
            )
            if not claimed:
                continue
            delay_days = (today - receipt.expected_date).days
            event_emit(
                type="material.delayed",
                subject=receipt.item,
                payload={
                    "item": receipt.item.sku,
                    "delay_days": delay_days,
                    "expected_date": receipt.expected_date.isoformat(),
                    "quantity": float(receipt.quantity_expected),
                    "supplier": receipt.supplier,
                    "receipt": receipt.number,
                    "po_number": receipt.po_number,
                    "message": _("%(number)s (%(sku)s from %(supplier)s) is %(days)s days late.")
                    % {
                        "number": receipt.number,
                        "sku": receipt.item.sku,
                        "supplier": receipt.supplier or _("the supplier"),
                        "days": delay_days,
                    },
                },
            )
            reported += 1
    return reported
