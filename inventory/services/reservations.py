"""Reservations: available stock set aside for a demand (a work order's component, a
shipment line), lot by lot in the item's policy order (FIFO or FEFO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode, TransitionLog

from ..models import DemandType, Item, Location, QualityHold, Reservation, StockBalance
from .ledger import StockUnavailable, quantity_clean, stock_blockers

ADD = "inventory.add_reservation"
CHANGE = "inventory.change_reservation"
PICK = "inventory.pick_kit"

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


def _reserve_on(balance: StockBalance, wanted: Decimal) -> Decimal:
    """Reserve up to `wanted` of one balance; returns what was reserved.

    One conditional update in the common case. When another reservation or move got
    there first, lock the row, read what is left and take that: without the lock a
    crowd of reservations could keep missing while stock is still there.
    """
    if wanted <= 0:
        return Decimal("0")
    rows = StockBalance.objects.filter(pk=balance.pk)
    if rows.filter(available__gte=wanted).update(reserved=F("reserved") + wanted) == 1:
        return wanted
    locked = rows.select_for_update().order_by()  # no ordering: no outer join to lock
    left = locked.values_list("available", flat=True).first() or Decimal("0")
    take = min(left, wanted)
    if take <= 0:
        return Decimal("0")
    changed = rows.filter(available__gte=take).update(reserved=F("reserved") + take)
    return take if changed == 1 else Decimal("0")


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
        raise ValidationFailed(
            _("Unknown demand type %(type)s.") % {"type": demand_type}, field="demand_type"
        )
    wanted = quantity_clean(quantity, item=None)
    outcome = ReservationOutcome()
    with transaction.atomic():
        remaining = wanted
        for balance in reservable_balances(item=item):
            if remaining <= 0:
                break
            take = _reserve_on(balance, min(balance.available, remaining))
            if take <= 0:
                continue
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
                        "missing": quantity_text(remaining),
                        "unit": item.unit,
                        "sku": item.sku,
                    },
                },
                actor=actor,
            )
    return outcome


def _log(
    reservation: Reservation,
    *,
    transition: str,
    from_state: str,
    to_state: str,
    actor: Any,
    reason_code: ReasonCode | None = None,
    comment: str = "",
) -> None:
    """Reservations have no state machine; their releases and moves are kept in the same
    history as every transition, with who, when and why."""
    TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Reservation),
        object_id=reservation.pk,
        object_repr=str(reservation)[:200],
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor=actor if getattr(actor, "pk", None) else None,
        reason_code=reason_code,
        comment=comment,
    )


def _state_name(reservation: Reservation) -> str:
    if reservation.state == Reservation.State.ACTIVE and reservation.staged:
        return "staged"
    return reservation.state


def _lock(reservation: Reservation) -> Reservation:
    """Lock the balance the reservation sits on, then the reservation (the ledger's lock
    order), re-reading until the reservation has not moved meanwhile."""
    current = Reservation.objects.get(pk=reservation.pk)
    for _attempt in range(5):
        list(
            StockBalance.objects.select_for_update()
            .order_by()
            .filter(item_id=current.item_id, location_id=current.location_id, lot_id=current.lot_id)
            .order_by()  # the default ordering joins the nullable lot: no FOR UPDATE there
            .values_list("pk", flat=True)
        )
        locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if (locked.location_id, locked.lot_id) == (current.location_id, current.lot_id):
            return locked
        current = locked
    raise StockUnavailable(
        _("Reservation %(id)s keeps changing: try again.") % {"id": reservation.pk}
    )


def _require_active(reservation: Reservation, action: str) -> None:
    if reservation.state != Reservation.State.ACTIVE:
        raise IllegalTransition(
            _("Cannot %(action)s reservation %(id)s while it is %(state)s. Allowed now: none.")
            % {"action": action, "id": reservation.pk, "state": reservation.state},
            current_state=reservation.state,
            allowed=[],
            transition=action,
        )


def _free(reservation: Reservation, quantity: Decimal) -> None:
    """Give reserved quantity of the reservation's balance back to available."""
    freed = StockBalance.objects.filter(
        item_id=reservation.item_id,
        location_id=reservation.location_id,
        lot_id=reservation.lot_id,
        reserved__gte=quantity,
    ).update(reserved=F("reserved") - quantity)
    if freed != 1:
        raise Conflict(
            _(
                "The balance under reservation %(id)s does not hold its reserved quantity: run "
                "verify_ledger."
            )
            % {"id": reservation.pk}
        )


def _release_locked(reservation: Reservation, *, actor: Any, reason: str) -> Reservation:
    from_state = _state_name(reservation)
    open_quantity = reservation.open_quantity
    if open_quantity > 0:
        _free(reservation, open_quantity)
    reservation.state = Reservation.State.RELEASED
    reservation.save(update_fields=["state"])
    _log(
        reservation,
        transition="release",
        from_state=from_state,
        to_state=reservation.state,
        actor=actor,
        comment=(
            _("%(open)s freed. %(why)s") % {"open": quantity_text(open_quantity), "why": reason}
        ).strip(),
    )
    return reservation


def reservation_release(*, reservation: Reservation, actor: Any, reason: str = "") -> Reservation:
    """Free the open quantity of a reservation (what is not picked or issued yet).

    A staged reservation is locked to its demand: only someone allowed to change
    reservations frees it, and says why. `actor=None` is the system (a demand closing).
    """
    reason = (reason or "").strip()
    if actor is not None:
        if reservation.staged:
            if not actor.has_perm(CHANGE):
                raise NotPermitted(
                    _(
                        "Reservation %(id)s is staged for %(demand)s: only a warehouse lead "
                        "releases it."
                    )
                    % {"id": reservation.pk, "demand": reservation.demand_ref}
                )
            if not reason:
                raise ValidationFailed(
                    _("Say why the staged reservation is released."), field="reason"
                )
        elif not (actor.has_perm(ADD) or actor.has_perm(CHANGE) or actor.has_perm(PICK)):
            raise NotPermitted(_("You are not allowed to release reservations."))
    with transaction.atomic():
        locked = _lock(reservation)
        _require_active(locked, "release")
        if locked.staged and not reservation.staged:  # staged meanwhile: check again
            return reservation_release(reservation=locked, actor=actor, reason=reason)
        return _release_locked(locked, actor=actor, reason=reason)


def reservations_release_for_demand(*, demand_type: str, demand_id: int, actor: Any) -> int:
    """Free every active reservation of a demand (its kit cancelled, the order closed),
    staged ones included: the caller's own permission covers it. Returns how many."""
    if demand_type not in DemandType.values:
        raise ValidationFailed(
            _("Unknown demand type %(type)s.") % {"type": demand_type}, field="demand_type"
        )
    released = 0
    with transaction.atomic():
        ids = list(
            Reservation.objects.filter(
                demand_type=demand_type, demand_id=demand_id, state=Reservation.State.ACTIVE
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for pk in ids:
            locked = _lock(Reservation(pk=pk))
            if locked.state != Reservation.State.ACTIVE:
                continue
            _release_locked(locked, actor=actor, reason=_("The demand no longer needs it."))
            released += 1
    return released


def reservation_move(
    *,
    reservation: Reservation,
    to_demand_type: str,
    to_demand_id: int,
    to_demand_ref: str,
    actor: Any,
    reason_code: ReasonCode | str | None,
    note: str,
    quantity: Decimal | int | str | None = None,
) -> Reservation:
    """Hand reserved stock (all its open quantity, or `quantity` of it) to another demand;
    returns the new reservation. The stock stays reserved and where it is.

    Staged stock is locked to its work order: moving it needs `change_reservation`, a
    reason code and a note. Who moved what, to which demand and why is kept in the
    transition history of both reservations.
    """
    note = (note or "").strip()
    to_demand_ref = (to_demand_ref or "").strip()
    if actor is None:
        raise NotPermitted(_("Moving a reservation needs a person."))
    if reservation.staged:
        if not actor.has_perm(CHANGE):
            raise NotPermitted(
                _(
                    "Reservation %(id)s is staged for %(demand)s: only a warehouse lead moves it "
                    "to another demand."
                )
                % {"id": reservation.pk, "demand": reservation.demand_ref}
            )
    elif not (actor.has_perm(ADD) or actor.has_perm(CHANGE)):
        raise NotPermitted(_("You are not allowed to move reservations."))
    errors: dict[str, list[str]] = {}
    if to_demand_type not in DemandType.values:
        errors["to_demand_type"] = [
            _("Demand type must be one of %(choices)s.") % {"choices": ", ".join(DemandType.values)}
        ]
    if not to_demand_ref:
        errors["to_demand_ref"] = [_("Name the demand the stock goes to.")]
    if not isinstance(to_demand_id, int) or isinstance(to_demand_id, bool) or to_demand_id < 1:
        errors["to_demand_id"] = [_("Name the demand the stock goes to.")]
    if reservation.staged and not note:
        errors["note"] = [_("Say why the staged stock goes to another demand.")]
    if errors:
        raise ValidationFailed(_("The reservation cannot be moved."), errors=errors)
    reason = None
    if reason_code or reservation.staged:
        reason = reason_code_get(reason_code)
    with transaction.atomic():
        locked = _lock(reservation)
        _require_active(locked, "move")
        if locked.staged and not reservation.staged:  # staged meanwhile: check again
            return reservation_move(
                reservation=locked,
                to_demand_type=to_demand_type,
                to_demand_id=to_demand_id,
                to_demand_ref=to_demand_ref,
                actor=actor,
                reason_code=reason_code,
                note=note,
                quantity=quantity,
            )
        if (locked.demand_type, locked.demand_id) == (to_demand_type, to_demand_id):
            raise ValidationFailed(
                _("The stock is already reserved for %(demand)s.") % {"demand": locked.demand_ref},
                field="to_demand_ref",
            )
        wanted = locked.open_quantity if quantity is None else quantity_clean(quantity, item=None)
        if wanted > locked.open_quantity:
            raise ValidationFailed(
                _("Only %(open)s are reserved for %(demand)s; %(wanted)s requested.")
                % {
                    "open": quantity_text(locked.open_quantity),
                    "demand": locked.demand_ref,
                    "wanted": quantity_text(wanted),
                },
                field="quantity",
            )
        blockers = stock_blockers(item=locked.item, location=locked.location, lot=locked.lot)
        if blockers:
            raise StockUnavailable(" ".join(blockers), field="lot")
        from_state = _state_name(locked)
        if wanted == locked.open_quantity and locked.quantity_consumed == 0:
            locked.state = Reservation.State.RELEASED
        else:
            locked.quantity -= wanted
            if locked.quantity == locked.quantity_consumed:
                locked.state = Reservation.State.CONSUMED
        locked.save(update_fields=["quantity", "state"])
        moved = Reservation.objects.create(
            item_id=locked.item_id,
            location_id=locked.location_id,
            lot_id=locked.lot_id,
            quantity=wanted,
            demand_type=to_demand_type,
            demand_id=to_demand_id,
            demand_ref=to_demand_ref,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        _log(
            locked,
            transition="move",
            from_state=from_state,
            to_state=_state_name(locked),
            actor=actor,
            reason_code=reason,
            comment=_("%(qty)s moved to %(demand)s (reservation %(id)s). %(note)s")
            % {"qty": quantity_text(wanted), "demand": to_demand_ref, "id": moved.pk, "note": note},
        )
        _log(
            moved,
            transition="move_in",
            from_state="",
            to_state=_state_name(moved),
            actor=actor,
            reason_code=reason,
            comment=_("From %(demand)s (reservation %(id)s). %(note)s")
            % {"demand": locked.demand_ref, "id": locked.pk, "note": note},
        )
    return moved
