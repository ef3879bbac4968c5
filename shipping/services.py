"""Dispatch: shipments of ready order lines, picked by scan to the dock, packed, documented,
verified package by package at the dock and handed to a carrier.

planned -> picking -> packed -> documented -> handed_over -> delivered; on_hold returns
to where it was; cancelled from any open state. The forward steps are internal
transitions: only these services run them, each after its own checks.

Stock: creating a shipment reserves each line (demand "shipment", the line as demand
line); a pick moves reserved stock to the shipment's dock location carrying the
reservation (the shared scan-verified pick of `inventory.services.picking`); the
handover issues it with SHIPMENT moves naming the customer, so a lot's genealogy reaches
the customer. Cancelling releases the reservations; stock already picked stays at the
dock, free, for the warehouse to put away (a transfer), since nothing reserves stock at a
shipping location.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from exceptions.engine import decision_check
from inventory.models import (
    Location,
    Lot,
    MoveType,
    QualityHold,
    Reservation,
    ScanRefusal,
    StockMove,
)
from inventory.services.ledger import move_post, quantity_clean
from inventory.services.picking import (
    PickDocument,
    PickLine,
    pick_lines,
    pick_move,
    pick_verify,
    reservation_reduce,
    scan_refusal_record,
)
from inventory.services.reservations import reservations_release_for_demand, reserve
from mes.core.actors import action_permission_require
from mes.core.errors import Conflict, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode, TransitionLog
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run
from orders.models import OrderState, SalesOrder, SalesOrderLine, ShipToAddress

from . import documents as pdf
from .models import (
    OPEN_STATES,
    Carrier,
    Package,
    PackageContent,
    Shipment,
    ShipmentDocument,
    ShipmentLine,
    ShipmentState,
)
from .selectors import SHIPMENT_DEMAND, shipment_lots

S = ShipmentState
SHIPMENT_DOCUMENT = "shipment"
ADD = "shipping.add_shipment"
PICK = "shipping.pick_shipment"
SHIP = "shipping.ship_shipment"
READY_ORDER_STATES = (OrderState.READY_TO_SHIP, OrderState.PARTIALLY_SHIPPED)
REQUIRED_DOCUMENTS = (ShipmentDocument.Kind.PACKING_SLIP, ShipmentDocument.Kind.BILL_OF_LADING)
# hold / release / cancel; the forward steps have their own services.
MANUAL_TRANSITIONS = ("hold", "release_hold", "cancel")
MAX_PACKAGE_CM = 1000
MAX_PACKAGE_KG = Decimal("9999999")
# A delivery time reported ahead of our clock by more than this is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _reservations(shipment: Shipment) -> Any:
    return Reservation.objects.filter(demand_type=SHIPMENT_DEMAND, demand_id=shipment.pk)


def _at_dock(shipment: Shipment) -> Any:
    """The shipment's picked stock: active reservations at its dock."""
    return _reservations(shipment).filter(
        state=Reservation.State.ACTIVE, location_id=shipment.dock_location_id
    )


def _history(shipment: Shipment, *, transition: str, actor: Any, comment: str) -> None:
    """A step that changes no state (a short pick) is still kept with who, when, why."""
    TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Shipment),
        object_id=shipment.pk,
        object_repr=str(shipment)[:200],
        transition=transition,
        from_state=shipment.state,
        to_state=shipment.state,
        actor=actor if getattr(actor, "pk", None) else None,
        comment=comment,
    )


# --- planning a shipment -------------------------------------------------------------------


def _default_ship_to(customer_id: int) -> ShipToAddress | None:
    return (
        ShipToAddress.objects.filter(customer_id=customer_id)
        .order_by("-is_default", "label", "id")
        .first()
    )


def _dock_clean(dock_location: Location | None, errors: dict[str, list[str]]) -> Location | None:
    if dock_location is None:
        dock = (
            Location.objects.filter(type=Location.Type.SHIPPING, active=True)
            .order_by("code")
            .first()
        )
        if dock is None:
            errors["dock_location"] = [_("There is no shipping location in use: set one up.")]
        return dock
    if dock_location.type != Location.Type.SHIPPING or not dock_location.active:
        errors["dock_location"] = [
            _("%(location)s is not a shipping location in use.") % {"location": dock_location}
        ]
    return dock_location


def _held_on_open_shipments(line_ids: list[int]) -> dict[int, Decimal]:
    """What open shipments already hold of each order line (their short picks excepted)."""
    rows = (
        ShipmentLine.objects.filter(
            sales_order_line_id__in=line_ids, shipment__state__in=OPEN_STATES
        )
        .order_by()
        .values("sales_order_line_id")
        .annotate(held=Sum(F("quantity") - F("quantity_short")))
    )
    return {row["sales_order_line_id"]: row["held"] or Decimal("0") for row in rows}


def shipment_create(
    *,
    lines: list[tuple[SalesOrderLine, Decimal | int | str]],
    user: Any,
    planned_ship_date: dt.date | None = None,
    dock_location: Location | None = None,
    notes: str = "",
) -> Shipment:
    """Plan a shipment of order lines (all of one customer and ship-to, their orders ready
    to ship or partially shipped) and reserve their stock in the items' FIFO/FEFO order.

    A line ships at most its open quantity less what other open shipments hold of it.
    What cannot be reserved is reported by the reservation (`material.shortage`); it is
    picked short later. The dock is the first shipping location when none is named.
    """
    action_permission_require(user, ADD, _("plan shipments"))
    errors: dict[str, list[str]] = {}
    wanted: dict[int, Decimal] = {}
    for so_line, quantity in lines or []:
        try:
            qty = quantity_clean(quantity, field="lines")
        except ValidationFailed as exc:
            errors.setdefault("lines", []).append(f"{so_line}: {exc.message}")
            continue
        if so_line.pk in wanted:
            errors.setdefault("lines", []).append(
                _("%(line)s is listed twice: ship it on one line.") % {"line": so_line}
            )
            continue
        wanted[so_line.pk] = qty
    if not lines:
        errors["lines"] = [_("Choose at least one order line to ship.")]
    if planned_ship_date is not None and not isinstance(planned_ship_date, dt.date):
        errors["planned_ship_date"] = [_("Give the ship date as a date.")]
    dock = _dock_clean(dock_location, errors)
    if errors:
        raise ValidationFailed(_("The shipment is not valid."), errors=errors)
    with transaction.atomic():
        # Locked: two clerks planning the same line at once cannot both take its quantity.
        order_lines = list(
            SalesOrderLine.objects.select_for_update(of=("self",))
            .filter(pk__in=wanted)
            .select_related("order__customer", "item")
            .order_by("order__number", "line_no")
        )
        if len(order_lines) != len(wanted):
            raise ValidationFailed(_("An order line no longer exists."), field="lines")
        held = _held_on_open_shipments(list(wanted))
        customer_id = order_lines[0].order.customer_id
        default_ship_to = _default_ship_to(customer_id)

        def destination(order: SalesOrder) -> int | None:
            return order.ship_to_id or (default_ship_to.pk if default_ship_to else None)

        ship_to_id = destination(order_lines[0].order)
        for so_line in order_lines:
            order = so_line.order
            if order.state not in READY_ORDER_STATES:
                errors.setdefault("lines", []).append(
                    _(
                        "%(order)s is %(state)s: only orders ready to ship or partially "
                        "shipped are shipped."
                    )
                    % {"order": order.number, "state": order.get_state_display().lower()}
                )
                continue
            if order.customer_id != customer_id or destination(order) != ship_to_id:
                errors.setdefault("lines", []).append(
                    _(
                        "%(order)s goes to another customer or ship-to than %(first)s: one "
                        "shipment goes to one address."
                    )
                    % {"order": order.number, "first": order_lines[0].order.number}
                )
                continue
            on_shipments = held.get(so_line.pk, Decimal("0"))
            free = so_line.open_quantity - on_shipments
            if wanted[so_line.pk] > free:
                errors.setdefault("lines", []).append(
                    _(
                        "%(line)s: %(free)s %(unit)s are left to ship (%(ordered)s ordered, "
                        "%(shipped)s shipped, %(held)s on open shipments); %(wanted)s asked."
                    )
                    % {
                        "line": so_line,
                        "free": quantity_text(max(free, Decimal("0"))),
                        "unit": so_line.item.unit,
                        "ordered": quantity_text(so_line.quantity),
                        "shipped": quantity_text(so_line.shipped_quantity),
                        "held": quantity_text(on_shipments),
                        "wanted": quantity_text(wanted[so_line.pk]),
                    }
                )
        if errors:
            raise ValidationFailed(_("The shipment is not valid."), errors=errors)
        shipment = Shipment.objects.create(
            number=number_placeholder(),
            customer_id=customer_id,
            ship_to_id=ship_to_id,
            planned_ship_date=planned_ship_date,
            dock_location=dock,
            notes=(notes or "").strip(),
            created_by=user,
        )
        number_assign(shipment, "SHP")
        for so_line in order_lines:
            line = ShipmentLine.objects.create(
                shipment=shipment,
                sales_order_line=so_line,
                item=so_line.item,
                quantity=wanted[so_line.pk],
            )
            reserve(
                item=so_line.item,
                quantity=line.quantity,
                demand_type=SHIPMENT_DEMAND,
                demand_id=shipment.pk,
                demand_ref=shipment.number,
                demand_line=line.pk,
                actor=user,
            )
    return shipment


# --- picking -------------------------------------------------------------------------------


def shipment_pick_list(*, shipment: Shipment) -> list[PickLine]:
    """The shipment's reservations not yet at its dock, in pick-walk order: one query."""
    return pick_lines(
        reservations=_reservations(shipment), to_location_id=shipment.dock_location_id
    )


def _pick_document(shipment: Shipment) -> PickDocument:
    return PickDocument(
        record=shipment,
        document_type=SHIPMENT_DOCUMENT,
        to_location=shipment.dock_location,
        payload={"customer": shipment.customer.code},
    )


def _fresh(shipment: Shipment) -> Shipment:
    return Shipment.objects.select_related("customer", "dock_location").get(pk=shipment.pk)


def _locked(shipment: Shipment) -> Shipment:
    """The shipment now, its row locked until the transaction ends."""
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("customer", "ship_to", "dock_location", "carrier")
        .get(pk=shipment.pk)
    )


def _step_require(shipment: Shipment, transition: str, source: str, actor: Any) -> None:
    """Refuse a step the shipment's state does not allow, naming the allowed ones."""
    if shipment.state != source:
        transition_run(instance=shipment, transition=transition, user=actor)  # raises


def shipment_pick(
    *,
    shipment: Shipment,
    actor: Any,
    location_code: str,
    item_code: str,
    lot_code: str = "",
    quantity: Decimal | int | str,
) -> StockMove:
    """Pick by scan (location, item, lot for tracked items) to the dock. A wrong scan is
    refused on screen and kept as a mis-pick (the refusal, the shipment's count and
    `pick.mismatch` are committed although the pick is refused). The first pick starts
    picking."""
    action_permission_require(actor, PICK, _("pick shipments"))
    shipment = _fresh(shipment)
    if shipment.state not in (S.PLANNED, S.PICKING):
        transition_run(instance=shipment, transition="start_picking", user=actor)  # names allowed
    document = _pick_document(shipment)
    line, qty = pick_verify(
        document=document,
        actor=actor,
        lines=shipment_pick_list(shipment=shipment),
        location_code=location_code,
        item_code=item_code,
        lot_code=lot_code,
        quantity=quantity,
        nothing_left=_(
            "Nothing of %(shipment)s is left to pick: pack it, or report what is missing as short."
        )
        % {"shipment": shipment.number},
    )
    with transaction.atomic():
        if shipment.state == S.PLANNED:
            transition_run(instance=shipment, transition="start_picking", user=actor)
        move = pick_move(document=document, actor=actor, line=line, quantity=qty)
        ShipmentLine.objects.filter(pk=line.reservation.demand_line).update(
            quantity_picked=F("quantity_picked") + qty
        )
    return move


def shipment_short_pick(
    *,
    shipment: Shipment,
    line: ShipmentLine,
    actor: Any,
    quantity: Decimal | int | str,
    note: str,
) -> ShipmentLine:
    """Report `quantity` of a line as not found: the line ships less, what was reserved
    for it is freed, and `material.shortage` tells the planner."""
    action_permission_require(actor, PICK, _("pick shipments"))
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    qty = None
    try:
        qty = quantity_clean(quantity)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not note:
        errors["note"] = [_("Say what is missing and why.")]
    if line.shipment_id != shipment.pk:
        errors["line"] = [_("That line is not on %(shipment)s.") % {"shipment": shipment.number}]
    if errors or qty is None:
        raise ValidationFailed(_("The short pick is not valid."), errors=errors)
    with transaction.atomic():
        shipment = _locked(shipment)
        if shipment.state != S.PICKING:  # planned: picking starts; otherwise names allowed
            shipment = transition_run(instance=shipment, transition="start_picking", user=actor)
        locked = (
            ShipmentLine.objects.select_for_update()
            .select_related("item", "sales_order_line__order")
            .get(pk=line.pk)
        )
        if qty > locked.quantity_open:
            raise ValidationFailed(
                _(
                    "Only %(open)s %(unit)s of %(item)s are still to pick; %(wanted)s reported "
                    "short."
                )
                % {
                    "open": quantity_text(locked.quantity_open),
                    "unit": locked.item.unit,
                    "item": locked.item.sku,
                    "wanted": quantity_text(qty),
                },
                field="quantity",
            )
        unpicked = [
            pick_line
            for pick_line in shipment_pick_list(shipment=shipment)
            if pick_line.reservation.demand_line == locked.pk
        ]
        # What was never reserved (a shortfall at planning) is short first; then the
        # reservations are freed from the end of the walk.
        never_reserved = locked.quantity_open - sum((p.quantity for p in unpicked), Decimal("0"))
        to_free = qty - max(never_reserved, Decimal("0"))
        for pick_line in reversed(unpicked):
            if to_free <= 0:
                break
            take = min(pick_line.quantity, to_free)
            reservation_reduce(
                reservation=pick_line.reservation,
                quantity=take,
                actor=actor,
                reason=_("Short pick on %(shipment)s: %(note)s")
                % {"shipment": shipment.number, "note": note},
            )
            to_free -= take
        ShipmentLine.objects.filter(pk=locked.pk).update(quantity_short=F("quantity_short") + qty)
        _history(
            shipment,
            transition="short_pick",
            actor=actor,
            comment=_("%(qty)s %(unit)s of %(item)s short: %(note)s")
            % {
                "qty": quantity_text(qty),
                "unit": locked.item.unit,
                "item": locked.item.sku,
                "note": note,
            },
        )
        event_emit(
            type="material.shortage",
            subject=locked.item,
            payload={
                "item": locked.item.sku,
                "missing_quantity": float(qty),
                "demand": shipment.number,
                "demand_type": SHIPMENT_DEMAND,
                "requested_quantity": float(locked.quantity),
                "order": locked.sales_order_line.order.number,
                "short_pick": True,
                "picker": getattr(actor, "username", ""),
                "message": _("%(shipment)s was picked %(qty)s %(unit)s short of %(item)s: %(note)s")
                % {
                    "shipment": shipment.number,
                    "qty": quantity_text(qty),
                    "unit": locked.item.unit,
                    "item": locked.item.sku,
                    "note": note,
                },
            },
            actor=actor,
        )
        locked.refresh_from_db()
    return locked


# --- packing -------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _packages_clean(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check the packages' type, weight, dimensions and contents (shape only)."""
    errors: dict[str, list[str]] = {}
    cleaned: list[dict[str, Any]] = []
    if not packages:
        raise ValidationFailed(
            _("Pack into at least one package."), field="packages", code="validation_failed"
        )
    for index, spec in enumerate(packages):
        at = f"packages[{index}]"
        if not isinstance(spec, dict):
            errors[at] = [_("Describe the package with its type, weight and dimensions.")]
            continue
        package: dict[str, Any] = {}
        kind = str(spec.get("type") or "").strip().lower()
        if kind not in Package.Type.values:
            errors[f"{at}.type"] = [
                _("Choose one of %(types)s.") % {"types": ", ".join(Package.Type.values)}
            ]
        package["type"] = kind
        weight = _decimal(spec.get("weight_kg"))
        if weight is None or weight <= 0 or weight > MAX_PACKAGE_KG:
            errors[f"{at}.weight_kg"] = [_("Enter the weight in kg, more than zero.")]
        elif weight != weight.quantize(Decimal("0.01")):
            errors[f"{at}.weight_kg"] = [_("Use at most two decimals.")]
        package["weight_kg"] = weight
        for dimension in ("length_cm", "width_cm", "height_cm"):
            value = _decimal(spec.get(dimension))
            whole = value is not None and value == value.to_integral_value()
            if not whole or not 0 < value <= MAX_PACKAGE_CM:
                errors[f"{at}.{dimension}"] = [
                    _("Enter whole centimetres between 1 and %(max)d.") % {"max": MAX_PACKAGE_CM}
                ]
            else:
                package[dimension] = int(value)
        contents = spec.get("contents") or []
        package["contents"] = []
        if not isinstance(contents, list):
            errors[f"{at}.contents"] = [_("List the contents as line, lot and quantity.")]
            contents = []
        for position, content in enumerate(contents):
            where = f"{at}.contents[{position}]"
            if not isinstance(content, dict):
                errors[where] = [_("Give the line, the lot and the quantity.")]
                continue
            try:
                qty = quantity_clean(content.get("quantity"), field=where)
            except ValidationFailed as exc:
                errors[where] = [exc.message]
                continue
            package["contents"].append(
                {
                    "line": content.get("line"),
                    "lot": str(content.get("lot") or "").strip(),
                    "quantity": qty,
                    "where": where,
                }
            )
        cleaned.append(package)
    if errors:
        raise ValidationFailed(_("The packages are not valid."), errors=errors)
    return cleaned


def shipment_pack(
    *, shipment: Shipment, actor: Any, packages: list[dict[str, Any]]
) -> list[Package]:
    """Pack the picked shipment: every line picked or reported short. Each package gets
    its type, weight, dimensions, a unique Code 128 label (PKG-00000123) and, optionally,
    its contents (line id, lot, quantity) within what was picked; one package without
    contents holds everything."""
    action_permission_require(actor, PICK, _("pack shipments"))
    cleaned = _packages_clean(packages)
    with transaction.atomic():
        shipment = transition_run(instance=shipment, transition="pack", user=actor)
        lines = list(
            ShipmentLine.objects.filter(shipment=shipment)
            .select_related("item", "sales_order_line__order")
            .order_by("id")
        )
        open_lines = [line for line in lines if line.quantity_open > 0]
        if open_lines:
            raise Conflict(
                _("%(shipment)s is not fully picked. Pick or report short: %(lines)s.")
                % {
                    "shipment": shipment.number,
                    "lines": "; ".join(
                        f"{line.sales_order_line} {line.item.sku} "
                        f"{quantity_text(line.quantity_open)} {line.item.unit}"
                        for line in open_lines
                    ),
                }
            )
        if not any(line.quantity_picked > 0 for line in lines):
            raise Conflict(
                _("Nothing of %(shipment)s was picked: cancel it instead.")
                % {"shipment": shipment.number}
            )
        picked = {
            (line_id, lot): qty
            for line_id, lots in shipment_lots(shipment=shipment).items()
            for lot, qty in lots
        }
        by_id = {line.pk: line for line in lines}
        lot_ids = dict(
            Lot.objects.filter(
                number__in={lot for _line, lot in picked if lot},
                item_id__in={line.item_id for line in lines},
            ).values_list("number", "id")
        )
        packed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        errors: dict[str, list[str]] = {}
        for package in cleaned:
            for content in package["contents"]:
                line = by_id.get(content["line"]) if isinstance(content["line"], int) else None
                key = (content["line"], content["lot"])
                if line is None:
                    errors[content["where"]] = [
                        _("Line %(line)s is not on %(shipment)s.")
                        % {"line": content["line"], "shipment": shipment.number}
                    ]
                elif key not in picked:
                    errors[content["where"]] = [
                        _("%(item)s: lot '%(lot)s' was not picked for this line.")
                        % {"item": line.item.sku, "lot": content["lot"]}
                    ]
                else:
                    packed[key] += content["quantity"]
                    if packed[key] > picked[key]:
                        errors[content["where"]] = [
                            _("More of %(item)s packed than picked (%(picked)s).")
                            % {"item": line.item.sku, "picked": quantity_text(picked[key])}
                        ]
        if errors:
            raise ValidationFailed(_("The packages are not valid."), errors=errors)
        if len(cleaned) == 1 and not cleaned[0]["contents"]:
            cleaned[0]["contents"] = [
                {"line": line_id, "lot": lot, "quantity": qty}
                for (line_id, lot), qty in picked.items()
            ]
        made: list[Package] = []
        for package in cleaned:
            row = Package.objects.create(
                shipment=shipment,
                label=number_placeholder(),
                type=package["type"],
                weight_kg=package["weight_kg"],
                length_cm=package["length_cm"],
                width_cm=package["width_cm"],
                height_cm=package["height_cm"],
            )
            row.label = f"PKG-{row.pk:08d}"
            Package.objects.filter(pk=row.pk).update(label=row.label)
            PackageContent.objects.bulk_create(
                PackageContent(
                    package=row,
                    shipment_line_id=content["line"],
                    lot_id=lot_ids.get(content["lot"]) if content["lot"] else None,
                    quantity=content["quantity"],
                )
                for content in package["contents"]
            )
            made.append(row)
    return made


# --- documents -----------------------------------------------------------------------------


def _address_lines(address: ShipToAddress | None) -> list[str]:
    if address is None:
        return []
    return [address.label, address.street, f"{address.postal_code} {address.city}", address.country]


def _facts(shipment: Shipment) -> pdf.DocumentFacts:
    """What the papers print, read in a fixed number of queries."""
    lines = list(
        ShipmentLine.objects.filter(shipment=shipment)
        .select_related("item", "sales_order_line__order")
        .order_by("sales_order_line__order__number", "sales_order_line__line_no", "id")
    )
    lots = shipment_lots(shipment=shipment)
    packages = list(
        Package.objects.filter(shipment=shipment)
        .prefetch_related("contents__shipment_line__item", "contents__lot")
        .order_by("id")
    )
    customer = shipment.customer
    customer_address = _default_ship_to(customer.pk)
    orders: dict[str, SalesOrder] = {}
    for line in lines:
        orders.setdefault(line.sales_order_line.order.number, line.sales_order_line.order)
    return pdf.DocumentFacts(
        number=shipment.number,
        plant_name=settings.PLANT_NAME,
        plant_address=[part for part in settings.PLANT_ADDRESS.splitlines() if part.strip()],
        customer=f"{customer.name} ({customer.code})",
        customer_address=[
            *_address_lines(customer_address)[1:],
            *([customer.email] if customer.email else []),
        ],
        ship_to=_address_lines(shipment.ship_to),
        orders=[
            f"{number} (PO {order.customer_po})" if order.customer_po else number
            for number, order in orders.items()
        ],
        planned_ship_date=shipment.planned_ship_date,
        dock=shipment.dock_location.code if shipment.dock_location_id else "",
        carrier=shipment.carrier.name if shipment.carrier_id else "",
        service_level=shipment.service_level,
        tracking_number=shipment.tracking_number,
        driver_name=shipment.driver_name,
        lines=[
            pdf.LineFacts(
                order=line.sales_order_line.order.number,
                line_no=line.sales_order_line.line_no,
                customer_po=line.sales_order_line.order.customer_po,
                sku=line.item.sku,
                name=line.item.name,
                unit=line.item.unit,
                quantity=line.quantity,
                picked=line.quantity_picked,
                short=line.quantity_short,
                lots=[
                    pdf.LotQuantity(lot=lot, quantity=qty)
                    for lot, qty in lots.get(line.pk, [])
                    if lot
                ],
            )
            for line in lines
        ],
        packages=[
            pdf.PackageFacts(
                label=package.label,
                type=package.get_type_display(),
                weight_kg=package.weight_kg,
                length_cm=package.length_cm,
                width_cm=package.width_cm,
                height_cm=package.height_cm,
                contents=[
                    f"{quantity_text(content.quantity)} {content.shipment_line.item.sku}"
                    + (f" lot {content.lot.number}" if content.lot_id else "")
                    for content in package.contents.all()
                ],
            )
            for package in packages
        ],
        generated_at=timezone.localtime(),
    )


RENDERERS = {
    ShipmentDocument.Kind.PACKING_SLIP: pdf.packing_slip_pdf,
    ShipmentDocument.Kind.BILL_OF_LADING: pdf.bill_of_lading_pdf,
    ShipmentDocument.Kind.LABELS: pdf.labels_pdf,
}


def _documents_store(
    shipment: Shipment, actor: Any, kinds: tuple[str, ...] = tuple(RENDERERS)
) -> list[ShipmentDocument]:
    facts = _facts(shipment)
    stored = []
    for kind in kinds:
        content = RENDERERS[kind](facts)
        document, _created = ShipmentDocument.objects.update_or_create(
            shipment=shipment,
            kind=kind,
            defaults={
                "content": content,
                "sha256": hashlib.sha256(content).hexdigest(),
                "generated_by": actor if getattr(actor, "pk", None) else None,
            },
        )
        stored.append(document)
    return stored


def _document_state(shipment: Shipment) -> str:
    return shipment.held_from_state if shipment.state == S.ON_HOLD else shipment.state


def shipment_documents_generate(*, shipment: Shipment, actor: Any) -> list[ShipmentDocument]:
    """Draw the packing slip, the bill of lading and the labels as PDF and keep them with
    the shipment (replacing older ones). Once packed, until it is handed over: the papers
    of a shipment that left are final."""
    action_permission_require(actor, SHIP, _("print shipment documents"))
    with transaction.atomic():
        locked = _locked(shipment)
        state = _document_state(locked)
        if state in (S.HANDED_OVER, S.DELIVERED):
            raise Conflict(
                _("%(shipment)s was handed over: its documents are final.")
                % {"shipment": locked.number}
            )
        if state not in (S.PACKED, S.DOCUMENTED):
            raise Conflict(
                _("%(shipment)s is %(state)s: its documents are printed once it is packed.")
                % {"shipment": locked.number, "state": locked.get_state_display().lower()}
            )
        return _documents_store(locked, actor)


def _documents_problems(shipment: Shipment) -> list[str]:
    """Why the shipment's required documents are not complete (empty: complete). Packing
    closes the lines (every pick and short pick comes before it), so a document older
    than the newest package is older than the last change of packages and lines."""
    generated = dict(
        ShipmentDocument.objects.filter(shipment=shipment, kind__in=REQUIRED_DOCUMENTS).values_list(
            "kind", "generated_at"
        )
    )
    changed = Package.objects.filter(shipment=shipment).aggregate(at=Max("created_at"))["at"]
    problems = []
    for kind in REQUIRED_DOCUMENTS:
        label = ShipmentDocument.Kind(kind).label
        at = generated.get(kind)
        if at is None:
            problems.append(_("The %(document)s is missing.") % {"document": str(label).lower()})
        elif changed is not None and at < changed:
            problems.append(
                _("The %(document)s is older than the packages: print it again.")
                % {"document": str(label).lower()}
            )
    return problems


def shipment_document(*, shipment: Shipment, actor: Any) -> Shipment:
    """packed -> documented, refused while the packing slip or the bill of lading is
    missing or out of date."""
    action_permission_require(actor, SHIP, _("document shipments"))
    with transaction.atomic():
        documented = transition_run(instance=shipment, transition="document", user=actor)
        problems = _documents_problems(documented)
        if problems:
            raise Conflict(
                _("%(shipment)s cannot be documented: %(problems)s")
                % {"shipment": documented.number, "problems": " ".join(problems)},
                code="documents_missing",
                errors={"documents": problems},
            )
    return documented


# --- at the dock ---------------------------------------------------------------------------


def shipment_verify_package(*, shipment: Shipment, actor: Any, label: str) -> Package:
    """Scan a package label at the dock before handover. A label of another shipment is
    refused and kept as an incorrect dispatch (the refusal, the shipment's count and
    `shipment.incorrect_dispatch`, committed although the scan is refused); an unknown
    label is refused and kept as an unknown barcode. Scanning a package twice is fine."""
    action_permission_require(actor, SHIP, _("load shipments"))
    label = (label or "").strip()
    if not label:
        raise ValidationFailed(_("Scan the package label."), field="label")
    shipment = _fresh(shipment)
    if shipment.state not in (S.PACKED, S.DOCUMENTED):
        raise Conflict(
            _("%(shipment)s is %(state)s: packages are scanned at the dock once it is packed.")
            % {"shipment": shipment.number, "state": shipment.get_state_display().lower()}
        )
    package = Package.objects.select_related("shipment").filter(label=label).first()
    if package is None or package.shipment_id != shipment.pk:
        _dispatch_refuse(shipment=shipment, actor=actor, label=label, package=package)
    with transaction.atomic():
        Package.objects.filter(pk=package.pk, verified_at__isnull=True).update(
            verified_at=timezone.now(), verified_by=actor
        )
    package.refresh_from_db()
    return package


def _dispatch_refuse(
    *, shipment: Shipment, actor: Any, label: str, package: Package | None
) -> NoReturn:
    """Keep the refused dock scan in its own transaction, then refuse it."""
    if package is None:
        kind = ScanRefusal.Kind.UNKNOWN_BARCODE
        message = _("Unknown package label %(label)s: scan it again.") % {"label": label}
    else:
        kind = ScanRefusal.Kind.INCORRECT_DISPATCH
        message = _(
            "Package %(label)s belongs to %(other)s, not to %(shipment)s: keep it off this load."
        ) % {"label": label, "other": package.shipment.number, "shipment": shipment.number}
    with transaction.atomic():
        scan_refusal_record(
            document_type=SHIPMENT_DOCUMENT,
            record=shipment,
            actor=actor,
            kind=kind,
            expected=_("a package of %(shipment)s") % {"shipment": shipment.number},
            scanned=label,
            message=message,
        )
        if package is not None:
            Shipment.objects.filter(pk=shipment.pk).update(
                incorrect_dispatches=F("incorrect_dispatches") + 1
            )
            event_emit(
                type="shipment.incorrect_dispatch",
                subject=shipment,
                payload={
                    "number": shipment.number,
                    "label": label,
                    "belongs_to": package.shipment.number,
                    "scanned_by": getattr(actor, "username", ""),
                    "message": message,
                },
                actor=actor,
            )
    raise ValidationFailed(message, field="label", code="scan_refused")


# --- handover ------------------------------------------------------------------------------


def _carrier_clean(carrier: Carrier | str | None, errors: dict[str, list[str]]) -> Carrier | None:
    if isinstance(carrier, str):
        carrier = Carrier.objects.filter(code=carrier.strip()).first()
    if carrier is None or not carrier.active:
        errors["carrier"] = [_("Choose a carrier in use.")]
        return None
    return carrier


def _holds(shipment: Shipment) -> list[QualityHold]:
    """Active quality holds on the picked lots or on the dock."""
    lot_ids = list(_at_dock(shipment).exclude(lot=None).values_list("lot_id", flat=True))
    return list(
        QualityHold.objects.filter(state=QualityHold.State.ACTIVE)
        .filter(
            Q(scope=QualityHold.Scope.LOT, lot_id__in=lot_ids)
            | Q(scope=QualityHold.Scope.LOCATION, location_id=shipment.dock_location_id)
        )
        .select_related("lot", "location")
        .order_by("placed_at", "id")
    )


def _handover_reasons(
    shipment: Shipment, lines: list[ShipmentLine], packages: list[Package]
) -> list[str]:
    """Every reason the shipment may not leave yet (empty: it may)."""
    reasons: list[str] = []
    if not packages:
        reasons.append(_("It has no packages."))
    unverified = [package.label for package in packages if package.verified_at is None]
    if unverified:
        reasons.append(
            _("Not scanned at the dock: %(labels)s.") % {"labels": ", ".join(unverified)}
        )
    documents = _documents_problems(shipment)
    reasons += documents
    holds = _holds(shipment)
    for hold in holds:
        reasons.append(
            _("Quality hold %(hold)s applies to %(what)s: %(why)s")
            % {"hold": hold.number, "what": hold.covers, "why": hold.note}
        )
    for line in lines:
        so_line = line.sales_order_line
        if line.quantity_picked > so_line.open_quantity:  # the order changed meanwhile
            reasons.append(
                _("%(line)s has %(open)s %(unit)s left to ship; %(picked)s are picked.")
                % {
                    "line": so_line,
                    "open": quantity_text(so_line.open_quantity),
                    "unit": line.item.unit,
                    "picked": quantity_text(line.quantity_picked),
                }
            )
    orders = {line.sales_order_line.order.pk: line.sales_order_line.order for line in lines}
    for order in orders.values():
        if order.state not in READY_ORDER_STATES:
            reasons.append(
                _("Order %(order)s is %(state)s.")
                % {"order": order.number, "state": order.get_state_display().lower()}
            )
    extra = {
        "shipment": {
            "number": shipment.number,
            "state": shipment.state,
            "documents_complete": not documents,
            "customer": {
                "code": shipment.customer.code,
                "name": shipment.customer.name,
                "priority_class": shipment.customer.priority_class,
            },
            "planned_ship_date": (
                shipment.planned_ship_date.isoformat() if shipment.planned_ship_date else None
            ),
            "dock": shipment.dock_location.code,
            "carrier": shipment.carrier.code if shipment.carrier_id else None,
            "service_level": shipment.service_level,
            "mispicks": shipment.mispicks,
            "incorrect_dispatches": shipment.incorrect_dispatches,
            "orders": sorted(order.number for order in orders.values()),
            "packages": len(packages),
            "weight_kg": float(sum((p.weight_kg for p in packages), Decimal("0"))),
            "short_lines": sum(1 for line in lines if line.quantity_short > 0),
        },
        "quality_hold": bool(holds),
    }
    for order in orders.values():
        outcome = decision_check(point="shipment_handover", subject=order, extra=extra)
        found = [message for _rule, message in outcome.blocks]
        # No approval step exists at the dock: a rule asking for one holds the shipment.
        found += [
            _("%(message)s (needs approval by %(role)s)")
            % {"message": message, "role": role.name if role else _("someone")}
            for _rule, role, message in outcome.approvals
        ]
        reasons += [message for message in found if message not in reasons]
    return reasons


def shipment_hand_over(
    *,
    shipment: Shipment,
    actor: Any,
    carrier: Carrier | str,
    service_level: str,
    tracking_number: str,
    driver_name: str,
) -> Shipment:
    """documented -> handed_over: the carrier takes the shipment.

    Refused, with every reason named, while a package is not scanned at the dock, the
    packing slip or bill of lading is missing or out of date, a quality hold applies to a
    picked lot or to the dock, an order is not ready to ship, or a `shipment_handover`
    rule blocks. Then the picked stock leaves with SHIPMENT moves (the reservations
    consumed, the customer as partner), the shipped quantities are booked on the
    shipment and order lines, each order moves to partially shipped or shipped, the bill
    of lading is drawn again with the carrier, tracking number and driver, and
    `shipment.handed_over` is emitted (webhooks tell the ERP).
    """
    action_permission_require(actor, SHIP, _("hand shipments over"))
    errors: dict[str, list[str]] = {}
    chosen = _carrier_clean(carrier, errors)
    service_level = (service_level or "").strip()
    tracking_number = (tracking_number or "").strip()
    driver_name = (driver_name or "").strip()
    if chosen is not None and chosen.service_levels and service_level not in chosen.service_levels:
        errors["service_level"] = [
            _("%(carrier)s offers %(levels)s.")
            % {"carrier": chosen.name, "levels": ", ".join(chosen.service_levels)}
        ]
    if len(service_level) > 40:
        errors["service_level"] = [_("At most 40 characters.")]
    if not tracking_number:
        errors["tracking_number"] = [_("Enter the carrier's tracking number.")]
    elif len(tracking_number) > 80:
        errors["tracking_number"] = [_("At most 80 characters.")]
    if not driver_name:
        errors["driver_name"] = [_("Enter the driver's name.")]
    elif len(driver_name) > 120:
        errors["driver_name"] = [_("At most 120 characters.")]
    if errors:
        raise ValidationFailed(_("The handover is not valid."), errors=errors)
    assert chosen is not None  # noqa: S101 - errors were raised otherwise
    now = timezone.now()
    with transaction.atomic():
        handed = _locked(shipment)
        _step_require(handed, "hand_over", S.DOCUMENTED, actor)
        lines = list(
            ShipmentLine.objects.filter(shipment=handed)
            .select_related("item", "sales_order_line__order")
            .order_by("id")
        )
        packages = list(Package.objects.filter(shipment=handed).order_by("id"))
        reasons = _handover_reasons(handed, lines, packages)
        if reasons:
            raise Conflict(
                _("%(shipment)s cannot be handed over: %(reasons)s")
                % {"shipment": handed.number, "reasons": " ".join(reasons)},
                code="handover_blocked",
                errors={"handover": reasons},
            )
        Shipment.objects.filter(pk=handed.pk).update(
            carrier=chosen,
            service_level=service_level,
            tracking_number=tracking_number,
            driver_name=driver_name,
            handed_over_at=now,
        )
        handed.refresh_from_db()
        shipped: dict[int, Decimal] = defaultdict(Decimal)
        lots: dict[int, list[dict[str, Any]]] = defaultdict(list)
        picked = _at_dock(handed).select_related("item", "lot", "location").order_by("id")
        for reservation in picked:
            quantity = reservation.open_quantity
            move_post(
                type=MoveType.SHIPMENT,
                item=reservation.item,
                quantity=quantity,
                actor=actor,
                from_location=reservation.location,
                lot=reservation.lot,
                reservation=reservation,
                document_type=SHIPMENT_DOCUMENT,
                document_id=handed.pk,
                document_ref=handed.number,
                partner=handed.customer.name[:120],
                occurred_at=now,
            )
            shipped[reservation.demand_line] += quantity
            if reservation.lot_id:
                lots[reservation.demand_line].append(
                    {"lot": reservation.lot.number, "quantity": float(quantity)}
                )
        for line in lines:
            quantity = shipped.get(line.pk, Decimal("0"))
            if quantity <= 0:
                continue
            ShipmentLine.objects.filter(pk=line.pk).update(quantity_shipped=quantity)
            SalesOrderLine.objects.filter(pk=line.sales_order_line_id).update(
                shipped_quantity=F("shipped_quantity") + quantity
            )
        orders = {line.sales_order_line.order_id: line.sales_order_line.order for line in lines}
        open_left = set(
            SalesOrderLine.objects.filter(order_id__in=orders, shipped_quantity__lt=F("quantity"))
            .values_list("order_id", flat=True)
            .distinct()
        )
        for order_id, order in sorted(orders.items(), key=lambda item: item[1].number):
            transition_run(
                instance=order,
                transition="ship_partially" if order_id in open_left else "ship",
                user=actor,
                check_permission=False,
                comment=_("Shipment %(shipment)s handed over.") % {"shipment": handed.number},
                event_type="order.status_changed",
                payload={"number": order.number, "shipment": handed.number},
            )
        _documents_store(handed, actor, kinds=(ShipmentDocument.Kind.BILL_OF_LADING,))
        handed = transition_run(instance=handed, transition="hand_over", user=actor)
        event_emit(
            type="shipment.handed_over",
            subject=handed,
            payload={
                "number": handed.number,
                "orders": sorted(order.number for order in orders.values()),
                "customer": handed.customer.code,
                "ship_to": str(handed.ship_to) if handed.ship_to_id else None,
                "carrier": chosen.code,
                "service_level": service_level or None,
                "tracking_number": tracking_number,
                "tracking_url": (
                    chosen.tracking_url.replace("{tracking}", tracking_number)
                    if chosen.tracking_url
                    else None
                ),
                "driver_name": driver_name,
                "handed_over_at": now.isoformat(),
                "packages": len(packages),
                "weight_kg": float(sum((p.weight_kg for p in packages), Decimal("0"))),
                "lines": [
                    {
                        "order": line.sales_order_line.order.number,
                        "line_no": line.sales_order_line.line_no,
                        "item": line.item.sku,
                        "quantity": float(shipped.get(line.pk, Decimal("0"))),
                        "short": float(line.quantity_short),
                        "lots": lots.get(line.pk, []),
                    }
                    for line in lines
                ],
            },
            actor=actor,
        )
    return handed


def shipment_confirm_delivery(
    *,
    shipment: Shipment,
    actor: Any,
    delivered_at: dt.datetime | None = None,
    note: str = "",
) -> Shipment:
    """handed_over -> delivered, as the carrier or the customer reports it (the API);
    emits `shipment.delivered`."""
    action_permission_require(actor, SHIP, _("confirm deliveries"))
    now = timezone.now()
    delivered_at = delivered_at or now
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not isinstance(delivered_at, dt.datetime) or timezone.is_naive(delivered_at):
        errors["delivered_at"] = [_("Give the delivery time with its time zone.")]
    elif delivered_at > now + CLOCK_SKEW:
        errors["delivered_at"] = [_("The delivery time is in the future.")]
    if len(note) > 300:
        errors["note"] = [_("At most 300 characters.")]
    if errors:
        raise ValidationFailed(_("The delivery confirmation is not valid."), errors=errors)
    with transaction.atomic():
        delivered = transition_run(
            instance=shipment, transition="confirm_delivery", user=actor, comment=note
        )
        if delivered.handed_over_at and delivered_at < delivered.handed_over_at:
            raise ValidationFailed(
                _("%(shipment)s was handed over at %(at)s: it cannot arrive before.")
                % {
                    "shipment": delivered.number,
                    "at": timezone.localtime(delivered.handed_over_at).strftime("%Y-%m-%d %H:%M"),
                },
                field="delivered_at",
            )
        Shipment.objects.filter(pk=delivered.pk).update(
            delivered_at=delivered_at, delivery_note=note
        )
        delivered = Shipment.objects.select_related("customer").get(pk=delivered.pk)
        orders = sorted(
            set(
                ShipmentLine.objects.filter(shipment=delivered).values_list(
                    "sales_order_line__order__number", flat=True
                )
            )
        )
        event_emit(
            type="shipment.delivered",
            subject=delivered,
            payload={
                "number": delivered.number,
                "orders": orders,
                "customer": delivered.customer.code,
                "delivered_at": delivered_at.isoformat(),
                "note": note or None,
            },
            actor=actor,
        )
    return delivered


# --- hold, release, cancel -----------------------------------------------------------------


def shipment_transition(
    *,
    shipment: Shipment,
    actor: Any,
    transition: str,
    reason_code: ReasonCode | str | None = None,
    comment: str = "",
) -> Shipment:
    """Hold (with a reason), release the hold (back to where it was) or cancel (with a
    reason). Cancelling releases every reservation of the shipment: stock not picked is
    free again where it is; stock already picked stays at the dock, free, for the
    warehouse to put away."""
    if transition not in MANUAL_TRANSITIONS:
        raise NotPermitted(
            _("%(action)s happens only through its own step (pick, pack, document, hand over).")
            % {"action": transition.replace("_", " ").capitalize()}
        )
    action_permission_require(actor, "shipping.hold_shipment", _("hold or cancel shipments"))
    comment = (comment or "").strip()
    if transition in {"hold", "cancel"}:
        errors: dict[str, list[str]] = {}
        try:
            reason_code = reason_code_get(reason_code)
        except ValidationFailed as exc:
            errors.update(exc.errors or {"reason_code": [exc.message]})
        if not comment:
            errors["comment"] = [_("Say why in a few words.")]
        if errors:
            raise ValidationFailed(_("Give a reason."), errors=errors)
    with transaction.atomic():
        changed = transition_run(
            instance=shipment,
            transition=transition,
            user=actor,
            reason_code=reason_code if transition != "release_hold" else None,
            comment=comment,
        )
        if transition == "cancel":
            reservations_release_for_demand(
                demand_type=SHIPMENT_DEMAND, demand_id=changed.pk, actor=actor
            )
    return changed
