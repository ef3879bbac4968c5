"""Order management: entry, confirmation with promise dates, holds, cancellation and
change requests. Every function is one transaction and records history and events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory.models import Item
from mes.core.actors import permission_check
from mes.core.errors import Conflict, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.governance import governed_field_change, reason_code_get
from mes.core.models import ReasonCode
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run

from .models import (
    COMMITTED_OPEN_STATES,
    ChangeRequest,
    Customer,
    OrderState,
    SalesOrder,
    SalesOrderLine,
    ShipToAddress,
)

S = OrderState


@dataclass(frozen=True)
class LineInput:
    item: Item
    quantity: Decimal
    requested_date: dt.date


def plant_today() -> dt.date:
    """Today in the plant's time zone."""
    return timezone.localdate()


# --- master data -------------------------------------------------------------------


def customer_upsert(
    *,
    code: str,
    name: str,
    priority_class: str = Customer.PriorityClass.B,
    email: str = "",
    active: bool = True,
    ship_tos: list[dict[str, Any]] | None = None,
) -> tuple[Customer, bool]:
    code = (code or "").strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Give the customer a code.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the customer a name.")]
    if priority_class not in Customer.PriorityClass.values:
        errors["priority_class"] = [
            _("Priority class must be one of %(choices)s.")
            % {"choices": ", ".join(Customer.PriorityClass.values)}
        ]
    if errors:
        raise ValidationFailed(_("The customer is not valid."), errors=errors)
    with transaction.atomic():
        customer, created = Customer.objects.select_for_update().update_or_create(
            code=code,
            defaults={
                "name": name.strip(),
                "priority_class": priority_class,
                "email": email or "",
                "active": active,
            },
        )
        for index, data in enumerate(ship_tos or []):
            label = (data.get("label") or f"Address {index + 1}").strip()
            ShipToAddress.objects.update_or_create(
                customer=customer,
                label=label,
                defaults={
                    "street": data.get("street", ""),
                    "city": data.get("city", ""),
                    "postal_code": data.get("postal_code", ""),
                    "country": (data.get("country") or "DE")[:2].upper(),
                    "is_default": bool(data.get("is_default", index == 0)),
                },
            )
    return customer, created


# --- entry -------------------------------------------------------------------------


def _validate_lines(lines: list[LineInput], *, today: dt.date) -> None:
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        if line.item is None:
            errors[f"{prefix}.item"] = [_("Choose an item.")]
        elif not line.item.active:
            errors[f"{prefix}.item"] = [
                _("Item %(sku)s is no longer active.") % {"sku": line.item.sku}
            ]
        try:
            quantity = Decimal(line.quantity)
        except (InvalidOperation, TypeError, ValueError):
            errors[f"{prefix}.quantity"] = [_("Enter a number.")]
        else:
            if quantity <= 0:
                errors[f"{prefix}.quantity"] = [_("Quantity must be greater than zero.")]
        if line.requested_date is None:
            errors[f"{prefix}.requested_date"] = [_("Enter a requested date.")]
        elif line.requested_date < today:
            errors[f"{prefix}.requested_date"] = [_("The requested date is in the past.")]
    if errors:
        raise ValidationFailed(_("Some lines are not valid."), errors=errors)


def _replace_lines(order: SalesOrder, lines: list[LineInput]) -> None:
    order.lines.all().delete()
    _insert_lines(order, lines)


def _insert_lines(order: SalesOrder, lines: list[LineInput]) -> list[SalesOrderLine]:
    created = SalesOrderLine.objects.bulk_create(
        SalesOrderLine(
            order=order,
            line_no=(index + 1) * 10,
            item=line.item,
            quantity=Decimal(line.quantity),
            requested_date=line.requested_date,
        )
        for index, line in enumerate(lines)
    )
    lines_known(order, created)
    return created


def lines_known(order: SalesOrder, lines: list[SalesOrderLine]) -> SalesOrder:
    """Let `order.lines.all()` answer from `lines` (as prefetch_related would), so the
    response to a write reads back nothing it has just written."""
    queryset = SalesOrderLine.objects.filter(order=order)
    queryset._result_cache = list(lines)  # noqa: SLF001 - the prefetch cache protocol
    queryset._prefetch_done = True  # noqa: SLF001
    cache = getattr(order, "_prefetched_objects_cache", None)
    if cache is None:
        cache = order._prefetched_objects_cache = {}  # noqa: SLF001
    cache["lines"] = queryset
    return order


def _resolve_ship_to(customer: Customer, ship_to: ShipToAddress | None) -> ShipToAddress | None:
    if ship_to is not None and ship_to.customer_id != customer.pk:
        raise ValidationFailed(_("This address belongs to another customer."), field="ship_to")
    return ship_to


def _order_entry_check(*, customer: Customer, user: Any, lines: list[LineInput]) -> None:
    permission_check(user, "orders.add_salesorder", _("You are not allowed to enter sales orders."))
    if customer is None or not customer.active:
        raise ValidationFailed(_("Choose an active customer."), field="customer")
    _validate_lines(lines, today=plant_today())


def _order_insert(
    *,
    customer: Customer,
    user: Any,
    lines: list[LineInput],
    external_id: str | None,
    customer_po: str,
    ship_to: ShipToAddress | None,
    notes: str,
) -> SalesOrder:
    """Write a checked draft, its lines and its event; the caller holds the transaction."""
    order = SalesOrder.objects.create(
        number=number_placeholder(),
        external_id=external_id,
        customer=customer,
        ship_to=_resolve_ship_to(customer, ship_to),
        customer_po=customer_po or "",
        notes=notes or "",
        created_by=user if getattr(user, "pk", None) else None,
    )
    number_assign(order, "SO")
    _insert_lines(order, lines)
    event_emit(
        type="order.created",
        subject=order,
        payload={
            "number": order.number,
            "external_id": order.external_id,
            "customer": customer.code,
            "lines": len(lines),
        },
        actor=user,
    )
    return order


def sales_order_create(
    *,
    customer: Customer,
    user: Any,
    lines: list[LineInput],
    external_id: str | None = None,
    customer_po: str = "",
    ship_to: ShipToAddress | None = None,
    notes: str = "",
) -> SalesOrder:
    """Enter a draft order with its lines."""
    _order_entry_check(customer=customer, user=user, lines=lines)
    external_id = (external_id or "").strip() or None
    if external_id and SalesOrder.objects.filter(external_id=external_id).exists():
        raise Conflict(
            _("An order with ERP id %(id)s exists already.") % {"id": external_id},
            field="external_id",
        )
    with transaction.atomic():
        return _order_insert(
            customer=customer,
            user=user,
            lines=lines,
            external_id=external_id,
            customer_po=customer_po,
            ship_to=ship_to,
            notes=notes,
        )


def sales_order_update_draft(
    *,
    order: SalesOrder,
    user: Any,
    customer: Customer | None = None,
    customer_po: str | None = None,
    ship_to: ShipToAddress | None = None,
    notes: str | None = None,
    lines: list[LineInput] | None = None,
) -> SalesOrder:
    """Edit a draft: header and lines are authored freely until the order is confirmed."""
    permission_check(
        user, "orders.change_salesorder", _("You are not allowed to edit sales orders.")
    )
    if lines is not None:
        _validate_lines(lines, today=plant_today())
    with transaction.atomic():
        locked = SalesOrder.objects.select_for_update().get(pk=order.pk)
        if locked.state != S.DRAFT:
            raise Conflict(
                _(
                    "%(number)s is %(state)s: only drafts are edited directly; "
                    "request a change instead."
                )
                % {"number": locked, "state": locked.get_state_display().lower()},
                code="not_draft",
            )
        if customer is not None:
            locked.customer = customer
        if customer_po is not None:
            locked.customer_po = customer_po
        if notes is not None:
            locked.notes = notes
        locked.ship_to = _resolve_ship_to(locked.customer, ship_to if ship_to else None)
        locked.save(update_fields=["customer", "customer_po", "notes", "ship_to", "updated_at"])
        if lines is not None:
            _replace_lines(locked, lines)
        event_emit(
            type="order.updated",
            subject=locked,
            payload={"number": locked.number, "external_id": locked.external_id},
            actor=user,
        )
    return locked


def sales_order_update_notes(
    *, order: SalesOrder, user: Any, customer_po: str | None = None, notes: str | None = None
) -> SalesOrder:
    """Ungoverned header fields stay editable after confirmation."""
    permission_check(
        user, "orders.change_salesorder", _("You are not allowed to edit sales orders.")
    )
    with transaction.atomic():
        locked = SalesOrder.objects.select_for_update().get(pk=order.pk)
        wanted = {"customer_po": customer_po, "notes": notes}
        changed = {
            field: value
            for field, value in wanted.items()
            if value is not None and value != getattr(locked, field)
        }
        if not changed:
            return locked
        for field, value in changed.items():
            setattr(locked, field, value)
        locked.save(update_fields=[*changed, "updated_at"])
        event_emit(
            type="order.updated",
            subject=locked,
            payload={
                "number": locked.number,
                "external_id": locked.external_id,
                "fields": sorted(changed),
            },
            actor=user,
        )
    return locked


def _lines_match(order: SalesOrder, lines: list[LineInput]) -> bool:
    current = [
        (line.item_id, Decimal(line.quantity), line.requested_date) for line in order.lines.all()
    ]
    wanted = [(line.item.pk, Decimal(line.quantity), line.requested_date) for line in lines]
    return current == wanted


def sales_order_upsert_external(
    *,
    external_id: str,
    customer: Customer,
    user: Any,
    lines: list[LineInput],
    customer_po: str = "",
    ship_to: ShipToAddress | None = None,
    notes: str = "",
) -> tuple[SalesOrder, bool]:
    """Create or update an order by the ERP's id; returns (order, created).

    A draft is replaced; a committed order accepts header edits, and lines that differ
    are refused: those go through change requests.
    """
    external_id = (external_id or "").strip()
    if not external_id:
        raise ValidationFailed(_("external_id is required."), field="external_id")
    draft: dict[str, Any] = {
        "customer": customer,
        "user": user,
        "lines": lines,
        "customer_po": customer_po,
        "ship_to": ship_to,
        "notes": notes,
    }
    with transaction.atomic():
        existing = SalesOrder.objects.select_for_update().filter(external_id=external_id).first()
        if existing is None:
            # The look-up above is the only existence check: the unique index settles a
            # race, and the API retries that request as an update.
            _order_entry_check(customer=customer, user=user, lines=lines)
            return _order_insert(external_id=external_id, **draft), True
        if existing.state == S.DRAFT:
            return sales_order_update_draft(order=existing, **draft), False
        if existing.customer_id != customer.pk:
            raise Conflict(
                _("%(number)s is %(state)s: its customer cannot change.")
                % {"number": existing, "state": existing.state},
                field="customer",
            )
        if not _lines_match(existing, lines):
            raise Conflict(
                _(
                    "%(order)s is %(state)s: lines change only through change requests "
                    "(POST /api/v1/orders/%(number)s/change-requests/)."
                )
                % {"order": existing, "state": existing.state, "number": existing.number},
                code="lines_locked",
            )
        order = sales_order_update_notes(
            order=existing, user=user, customer_po=customer_po, notes=notes
        )
        return order, False


# --- promise dates -------------------------------------------------------------------


def line_promise_compute(*, line: SalesOrderLine, today: dt.date) -> tuple[dt.date, str]:
    """Capable-to-promise from planning (free capacity on the routed work centers and
    material availability) for items with a routing; otherwise the requested date or
    today + the item's lead time, whichever is later. The basis says how."""
    from planning.services.promising import promise_compute

    promise = promise_compute(
        item=line.item, quantity=line.quantity, requested_date=line.requested_date, today=today
    )
    if promise is not None:
        return promise.date, promise.basis
    lead_time = line.item.lead_time_days
    earliest = today + dt.timedelta(days=lead_time)
    if line.requested_date >= earliest:
        return line.requested_date, (
            f"requested date {line.requested_date:%Y-%m-%d} (today {today:%Y-%m-%d} + "
            f"{lead_time} d lead time = {earliest:%Y-%m-%d} is earlier)"
        )
    return earliest, (
        f"today {today:%Y-%m-%d} + {lead_time} d lead time of {line.item.sku} "
        f"(requested {line.requested_date:%Y-%m-%d} is earlier)"
    )


# --- transitions -----------------------------------------------------------------------


def sales_order_confirm(*, order: SalesOrder, user: Any) -> SalesOrder:
    """Confirm a draft and promise every line; the event carries the promises for the ERP."""
    with transaction.atomic():
        # The order first, then its lines: the order every other writer locks them in.
        SalesOrder.objects.select_for_update().get(pk=order.pk)
        today = plant_today()
        lines = list(
            SalesOrderLine.objects.select_for_update().filter(order_id=order.pk).order_by("line_no")
        )
        items = {item.pk: item for item in Item.objects.filter(pk__in=[x.item_id for x in lines])}
        promised = []
        for line in lines:
            line.item = items[line.item_id]
            line.promise_date, line.promise_basis = line_promise_compute(line=line, today=today)
            promised.append({"line": line.line_no, "promise_date": line.promise_date.isoformat()})
        confirmed = transition_run(
            instance=order,
            transition="confirm",
            user=user,
            event_type="order.confirmed",
            payload={"number": order.number, "lines": promised},
        )
        SalesOrderLine.objects.bulk_update(lines, ["promise_date", "promise_basis"])
    return confirmed


def sales_order_transition(
    *,
    order: SalesOrder,
    user: Any,
    transition: str,
    reason_code: ReasonCode | str | None = None,
    comment: str = "",
) -> SalesOrder:
    """Start production, mark ready, ship, close, hold, release hold, cancel."""
    needs_reason = transition in {"hold", "cancel"}
    if needs_reason:
        reason_code = reason_code_get(reason_code)
        if not comment.strip():
            raise ValidationFailed(_("Say why in a few words."), field="comment")
    if transition in {"confirm"}:
        return sales_order_confirm(order=order, user=user)
    meta = getattr(getattr(SalesOrder, transition, None), "_django_fsm", None)
    if meta is not None and any(t.custom.get("internal") for t in meta.transitions.values()):
        raise NotPermitted(
            _(
                "%(action)s happens only through its own process "
                "(a shipment or an approved change request)."
            )
            % {"action": transition.replace("_", " ").capitalize()}
        )
    kwargs: dict[str, Any] = {}
    if transition == "cancel":
        kwargs["reason"] = comment.strip()
    return transition_run(
        instance=order,
        transition=transition,
        user=user,
        reason_code=reason_code,
        comment=comment.strip(),
        event_type="order.status_changed",
        payload={"number": order.number},
        **kwargs,
    )


def order_priority_change(
    *, order: SalesOrder, user: Any, priority: int, reason_code: str | ReasonCode, reason_text: str
) -> SalesOrder:
    governed_field_change(
        instance=order,
        field="priority",
        new_value=priority,
        user=user,
        reason_code=reason_code,
        reason_text=reason_text,
        payload={"order": order.number},
    )
    order.refresh_from_db()
    return order


def line_promise_date_change(
    *,
    line: SalesOrderLine,
    user: Any,
    promise_date: dt.date | str,
    reason_code: str | ReasonCode,
    reason_text: str,
) -> SalesOrderLine:
    """Re-promise a line by hand, with the reason kept."""
    with transaction.atomic():
        governed_field_change(
            instance=line,
            field="promise_date",
            new_value=promise_date,
            user=user,
            reason_code=reason_code,
            reason_text=reason_text,
            payload={"order": line.order.number, "line": line.line_no},
        )
        SalesOrderLine.objects.filter(pk=line.pk).update(
            promise_basis=f"set by hand: {reason_text.strip()}"[:300]
        )
    line.refresh_from_db()
    return line


# --- change requests -------------------------------------------------------------------


def _cr_old_value(kind: str, line: SalesOrderLine | None, order: SalesOrder) -> Any:
    if kind == ChangeRequest.Kind.QUANTITY and line:
        return str(line.quantity)
    if kind == ChangeRequest.Kind.DATE and line:
        return line.requested_date.isoformat()
    if kind == ChangeRequest.Kind.CANCEL:
        return order.state
    return None


def change_request_create(
    *,
    order: SalesOrder,
    user: Any,
    kind: str,
    reason_code: str | ReasonCode | None,
    reason_text: str,
    line: SalesOrderLine | None = None,
    new_quantity: Decimal | str | None = None,
    new_date: dt.date | None = None,
    new_item: Item | None = None,
) -> ChangeRequest:
    """Request a change to a committed order.

    Before production starts the requester's change applies at once (still recorded);
    once in production it waits for a second planner's approval.
    """
    permission_check(user, "orders.request_change", _("You are not allowed to request changes."))
    errors: dict[str, list[str]] = {}
    if kind not in ChangeRequest.Kind.values:
        errors["kind"] = [
            _("Kind must be one of %(choices)s.")
            % {"choices": ", ".join(ChangeRequest.Kind.values)}
        ]
    reason = None
    try:
        reason = reason_code_get(reason_code)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not (reason_text or "").strip():
        errors["reason_text"] = [_("Say why in a few words.")]
    today = plant_today()
    quantity = None
    if kind in {ChangeRequest.Kind.QUANTITY, ChangeRequest.Kind.DATE}:
        if line is None or line.order_id != order.pk:
            errors["line"] = [_("Choose a line of this order.")]
    if kind in {ChangeRequest.Kind.QUANTITY, ChangeRequest.Kind.ADD_LINE}:
        try:
            quantity = Decimal(str(new_quantity))
            if not quantity.is_finite():
                raise InvalidOperation
        except (InvalidOperation, TypeError, ValueError):
            errors["new_quantity"] = [_("Enter the new quantity.")]
        else:
            if quantity <= 0:
                errors["new_quantity"] = [_("Quantity must be greater than zero.")]
            elif (
                kind == ChangeRequest.Kind.QUANTITY
                and line is not None
                and quantity < line.shipped_quantity
            ):
                errors["new_quantity"] = [
                    _("%(shipped)s are shipped already; the quantity cannot be lower.")
                    % {"shipped": line.shipped_quantity}
                ]
            elif (
                kind == ChangeRequest.Kind.QUANTITY
                and line is not None
                and quantity == (line.quantity)
            ):
                errors["new_quantity"] = [_("The new quantity is the same as the current one.")]
    if kind in {ChangeRequest.Kind.DATE, ChangeRequest.Kind.ADD_LINE}:
        if new_date is None:
            errors["new_date"] = [_("Enter the new requested date.")]
        elif new_date < today:
            errors["new_date"] = [_("The date is in the past.")]
        elif (
            kind == ChangeRequest.Kind.DATE
            and line is not None
            and new_date == (line.requested_date)
        ):
            errors["new_date"] = [_("The new date is the same as the current one.")]
    if kind == ChangeRequest.Kind.ADD_LINE and (new_item is None or not new_item.active):
        errors["new_item"] = [_("Choose an active item.")]
    if errors:
        raise ValidationFailed(_("The change request is not valid."), errors=errors)
    with transaction.atomic():
        locked = SalesOrder.objects.select_for_update().get(pk=order.pk)
        if locked.state not in COMMITTED_OPEN_STATES:
            message = (
                _("%(number)s is %(state)s: edit the draft directly.")
                if locked.state == S.DRAFT
                else _("%(number)s is %(state)s: it can no longer change.")
            )
            raise Conflict(
                message % {"number": locked, "state": locked.get_state_display().lower()},
                code="order_not_changeable",
            )
        cr = ChangeRequest.objects.create(
            number=number_placeholder(),
            order=locked,
            line=line if kind in {ChangeRequest.Kind.QUANTITY, ChangeRequest.Kind.DATE} else None,
            kind=kind,
            new_quantity=quantity,
            new_date=new_date if kind != ChangeRequest.Kind.QUANTITY else None,
            new_item=new_item if kind == ChangeRequest.Kind.ADD_LINE else None,
            old_value=_cr_old_value(kind, line, locked),
            reason_code=reason,
            reason_text=reason_text.strip(),
            needs_approval=locked.is_in_production,
            requested_by=user if getattr(user, "pk", None) else None,
        )
        number_assign(cr, "CR")
        _change_request_rules_check(cr=cr, line=line, today=today)
        event_emit(
            type="change_request.requested",
            subject=cr,
            payload={
                "number": cr.number,
                "order": locked.number,
                "kind": kind,
                "needs_approval": cr.needs_approval,
                "old": cr.old_value,
                "new": str(quantity)
                if quantity is not None
                else (new_date.isoformat() if new_date else None),
            },
            actor=user,
        )
        if not cr.needs_approval:
            cr = transition_run(
                instance=cr,
                transition="auto_approve",
                user=user,
                comment="Order not in production: applies at once.",
                event_type="change_request.approved",
                payload={"order": locked.number, "kind": kind},
                by=user if getattr(user, "pk", None) else None,
                note="Order not in production: applies at once.",
            )
            cr = _change_request_apply(change_request=cr, user=user)
    return cr


def _change_request_rules_check(
    *, cr: ChangeRequest, line: SalesOrderLine | None, today: dt.date
) -> None:
    """Ask the decision rules at the change_request check point: a block refuses the
    change, a required approval holds it for a planner even before production."""
    from exceptions.engine import decision_check

    old_quantity = line.quantity if line is not None else None
    outcome = decision_check(
        point="change_request",
        subject=cr,
        extra={
            "change": {
                "kind": cr.kind,
                "old_quantity": float(old_quantity) if old_quantity is not None else None,
                "new_quantity": float(cr.new_quantity) if cr.new_quantity is not None else None,
                "quantity_delta": float(cr.new_quantity - old_quantity)
                if cr.new_quantity is not None and old_quantity is not None
                else None,
                "new_date_days": (cr.new_date - today).days if cr.new_date else None,
            }
        },
    )
    if outcome.blocked:
        raise Conflict(" ".join(message for _rule, message in outcome.blocks), code="blocked")
    if outcome.needs_approval and not cr.needs_approval:
        cr.needs_approval = True
        ChangeRequest.objects.filter(pk=cr.pk).update(needs_approval=True)


def change_request_approve(
    *, change_request: ChangeRequest, user: Any, note: str = "", apply: bool = True
) -> ChangeRequest:
    """A second planner approves; by default the change is applied in the same step."""
    if not user.has_perm("orders.approve_change"):
        raise NotPermitted(_("You are not allowed to approve change requests."))
    if change_request.requested_by_id == user.pk:
        raise NotPermitted(_("A planner other than the requester must approve this change."))
    with transaction.atomic():
        cr = transition_run(
            instance=change_request,
            transition="approve",
            user=user,
            comment=note,
            event_type="change_request.approved",
            payload={"order": change_request.order.number, "kind": change_request.kind},
            by=user,
            note=note,
        )
        if apply:
            cr = _change_request_apply(change_request=cr, user=user)
    return cr


def change_request_reject(*, change_request: ChangeRequest, user: Any, note: str) -> ChangeRequest:
    if not (note or "").strip():
        raise ValidationFailed(_("Say why the change is rejected."), field="note")
    return transition_run(
        instance=change_request,
        transition="reject",
        user=user,
        comment=note.strip(),
        event_type="change_request.rejected",
        payload={"order": change_request.order.number, "kind": change_request.kind},
        by=user,
        note=note.strip(),
    )


def change_request_apply(*, change_request: ChangeRequest, user: Any) -> ChangeRequest:
    """Apply an approved change that was not applied when it was approved."""
    with transaction.atomic():
        return _change_request_apply(change_request=change_request, user=user)


def _change_request_apply(*, change_request: ChangeRequest, user: Any) -> ChangeRequest:
    cr = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    order = SalesOrder.objects.select_for_update().get(pk=cr.order_id)
    reason_text = f"{cr.number}: {cr.reason_text}"
    Kind = ChangeRequest.Kind  # noqa: N806
    if cr.state == ChangeRequest.State.APPROVED and order.state not in COMMITTED_OPEN_STATES:
        raise Conflict(
            _("%(number)s is %(state)s: the change can no longer be applied.")
            % {"number": order, "state": order.state}
        )
    if cr.kind == Kind.ADD_LINE and cr.state == ChangeRequest.State.APPROVED:
        item = Item.objects.get(pk=cr.new_item_id)
        if not item.active:
            raise Conflict(
                _("Item %(sku)s is no longer active: the line cannot be added.")
                % {"sku": item.sku},
                field="new_item",
            )
    # Check the transition first so an illegal apply changes nothing.
    cr = transition_run(
        instance=cr,
        transition="apply",
        user=user,
        event_type="change_request.applied",
        payload={"order": order.number, "kind": cr.kind},
    )
    if cr.kind == Kind.QUANTITY:
        shipped = (
            SalesOrderLine.objects.select_for_update()
            .values_list("shipped_quantity", flat=True)
            .get(pk=cr.line_id)
        )
        if cr.new_quantity < shipped:
            raise Conflict(
                _(
                    "%(shipped)s are shipped already: %(cr)s cannot lower the quantity "
                    "to %(quantity)s; reject it."
                )
                % {"shipped": shipped, "cr": cr.number, "quantity": cr.new_quantity},
                code="below_shipped",
                field="new_quantity",
            )
        governed_field_change(
            instance=cr.line,
            field="quantity",
            new_value=cr.new_quantity,
            user=user,
            reason_code=cr.reason_code,
            reason_text=reason_text,
            payload={"order": order.number, "change_request": cr.number},
            check_permission=False,
        )
    elif cr.kind == Kind.DATE:
        line = cr.line
        governed_field_change(
            instance=line,
            field="requested_date",
            new_value=cr.new_date,
            user=user,
            reason_code=cr.reason_code,
            reason_text=reason_text,
            payload={"order": order.number, "change_request": cr.number},
            check_permission=False,
        )
        line.refresh_from_db()
        promise, basis = line_promise_compute(line=line, today=plant_today())
        if promise != line.promise_date:
            governed_field_change(
                instance=line,
                field="promise_date",
                new_value=promise,
                user=user,
                reason_code=cr.reason_code,
                reason_text=reason_text,
                payload={"order": order.number, "change_request": cr.number},
                check_permission=False,
            )
        SalesOrderLine.objects.filter(pk=line.pk).update(promise_basis=basis)
    elif cr.kind == Kind.CANCEL:
        transition = "cancel_approved" if order.is_in_production else "cancel"
        transition_run(
            instance=order,
            transition=transition,
            user=user,
            check_permission=False,  # authorised by the change request's approval
            reason_code=cr.reason_code,
            comment=reason_text,
            event_type="order.status_changed",
            payload={"number": order.number, "change_request": cr.number},
            reason=reason_text,
        )
    elif cr.kind == Kind.ADD_LINE:
        last = order.lines.order_by("-line_no").values_list("line_no", flat=True).first() or 0
        line = SalesOrderLine(
            order=order,
            line_no=last + 10,
            item=cr.new_item,
            quantity=cr.new_quantity,
            requested_date=cr.new_date,
        )
        line.promise_date, line.promise_basis = line_promise_compute(line=line, today=plant_today())
        line.save()
        event_emit(
            type="order.changed",
            subject=order,
            payload={
                "record": f"orders.salesorderline:{line.pk}",
                "field": "lines",
                "old": None,
                "new": {
                    "line": line.line_no,
                    "item": line.item.sku,
                    "quantity": str(line.quantity),
                },
                "reason_code": cr.reason_code.code,
                "reason_text": reason_text,
            },
            actor=user,
        )
    return cr
