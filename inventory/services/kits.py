"""Kits: a work order's components, reserved, picked by scan to its staging location,
staged (locked to the work order) and issued to it.

States: open -> picking -> staged -> issued (cancelled from the open states). A kit holds
no lines of its own: its content is the work order's active reservations, so a pick
list is those reservations still away from the staging location, in pick-walk order.
Every pick is scan-verified (`picking`, shared with shipments); a wrong location, item or
lot is refused, and the refusal is kept (a `ScanRefusal`, the kit's mis-pick count,
`pick.mismatch`) even though the pick itself changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import action_permission_require
from mes.core.errors import Conflict, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run

from ..models import PICK, DemandType, Item, Kit, Location, MoveType, Reservation, StockMove
from .ledger import WORK_ORDER_DOCUMENT, move_post, quantity_clean
from .picking import PickDocument, PickLine, pick_lines, pick_move, pick_verify
from .reservations import reserve

KIT_DOCUMENT = "kit"
# Where a kit is staged: next to the line.
STAGING_LOCATION_TYPES = (Location.Type.STAGING, Location.Type.LINE_SIDE)
OPEN_STATES = (Kit.State.OPEN, Kit.State.PICKING, Kit.State.STAGED)


def _kit_reservations(kit: Kit) -> Any:
    return Reservation.objects.filter(
        demand_type=DemandType.WORK_ORDER,
        demand_id=kit.work_order_id,
        state=Reservation.State.ACTIVE,
    )


def kit_pick_list(*, kit: Kit) -> list[PickLine]:
    """The kit's reservations not yet at its staging location, in pick-walk order
    (the location's pick sequence, else its code), in one query."""
    return pick_lines(reservations=_kit_reservations(kit), to_location_id=kit.staging_location_id)


def _pick_document(kit: Kit) -> PickDocument:
    return PickDocument(
        record=kit,
        document_type=KIT_DOCUMENT,
        to_location=kit.staging_location,
        payload={"work_order": kit.work_order_ref},
    )


def kit_create(
    *,
    work_order_id: int,
    work_order_ref: str,
    staging_location: Location,
    components: list[tuple[Item, Decimal]],
    actor: Any,
) -> Kit:
    """Open a kit for a work order and reserve its components (FIFO/FEFO); what cannot
    be reserved is reported as `material.shortage` by the reservation."""
    if not (actor is not None and actor.has_perm("inventory.add_reservation")):
        action_permission_require(actor, "inventory.add_kit", _("make kits"))
    work_order_ref = (work_order_ref or "").strip()
    errors: dict[str, list[str]] = {}
    if not work_order_ref:
        errors["work_order_ref"] = [_("Name the work order.")]
    if staging_location.type not in STAGING_LOCATION_TYPES or not staging_location.active:
        errors["staging_location"] = [
            _("%(location)s is not a staging or line-side location in use.")
            % {"location": staging_location.code}
        ]
    wanted: dict[int, tuple[Item, Decimal]] = {}
    for item, quantity in components or []:
        try:
            qty = quantity_clean(quantity, field="components")
        except ValidationFailed as exc:
            errors.setdefault("components", []).append(f"{item.sku}: {exc.message}")
            continue
        if not item.active:
            errors.setdefault("components", []).append(
                _("%(sku)s is not active.") % {"sku": item.sku}
            )
            continue
        previous = wanted.get(item.pk)
        wanted[item.pk] = (item, qty + (previous[1] if previous else Decimal("0")))
    if not wanted and "components" not in errors:
        errors["components"] = [_("A kit needs at least one component.")]
    if errors:
        raise ValidationFailed(_("The kit is not valid."), errors=errors)
    with transaction.atomic():
        existing = (
            Kit.objects.select_for_update()
            .filter(work_order_id=work_order_id, state__in=OPEN_STATES)
            .first()
        )
        if existing is not None:
            raise Conflict(
                _("%(wo)s already has kit %(kit)s (%(state)s).")
                % {"wo": work_order_ref, "kit": existing.number, "state": existing.state}
            )
        kit = Kit.objects.create(
            number=number_placeholder(),
            work_order_id=work_order_id,
            work_order_ref=work_order_ref,
            staging_location=staging_location,
        )
        number_assign(kit, "KIT")
        for item, qty in wanted.values():
            reserve(
                item=item,
                quantity=qty,
                demand_type=DemandType.WORK_ORDER,
                demand_id=work_order_id,
                demand_ref=work_order_ref,
                actor=actor,
            )
    return kit


def kit_pick(
    *,
    kit: Kit,
    actor: Any,
    location_code: str,
    item_code: str,
    lot_code: str = "",
    quantity: Decimal | int | str,
) -> StockMove:
    """Pick one line of the kit by scan: location, item (SKU) and, for tracked items,
    lot. A scan that names something the kit does not want here is refused and counted as
    a mis-pick; a code that names nothing at all is refused as an unknown barcode."""
    action_permission_require(actor, PICK, _("pick kits"))
    kit = Kit.objects.select_related("staging_location").get(pk=kit.pk)  # its state now
    if kit.state not in (Kit.State.OPEN, Kit.State.PICKING):
        transition_run(instance=kit, transition="start_picking", user=actor)  # names allowed
    document = _pick_document(kit)
    line, qty = pick_verify(
        document=document,
        actor=actor,
        lines=kit_pick_list(kit=kit),
        location_code=location_code,
        item_code=item_code,
        lot_code=lot_code,
        quantity=quantity,
        nothing_left=_("Everything of %(kit)s is picked: stage it.") % {"kit": kit.number},
    )
    with transaction.atomic():
        if kit.state == Kit.State.OPEN:
            transition_run(instance=kit, transition="start_picking", user=actor)
        move = pick_move(document=document, actor=actor, line=line, quantity=qty)
    return move


def kit_stage(*, kit: Kit, actor: Any) -> Kit:
    """Everything picked: the kit is staged and its reservations are locked to the work
    order (only a person with a reason moves them to another demand)."""
    action_permission_require(actor, PICK, _("stage kits"))
    with transaction.atomic():
        kit = transition_run(
            instance=kit,
            transition="stage",
            user=actor,
            event_type="kit.staged",
            payload={
                "number": kit.number,
                "work_order": kit.work_order_ref,
                "location": kit.staging_location.code,
            },
        )
        left = kit_pick_list(kit=kit)
        if left:
            raise Conflict(
                _("%(kit)s is not fully picked. Still to pick: %(lines)s.")
                % {
                    "kit": kit.number,
                    "lines": "; ".join(
                        f"{quantity_text(line.quantity)} {line.describe()}" for line in left
                    ),
                }
            )
        staged = (
            _kit_reservations(kit).filter(location_id=kit.staging_location_id).update(staged=True)
        )
        if not staged:
            raise Conflict(_("%(kit)s has nothing picked to stage.") % {"kit": kit.number})
        kit.staged_at = timezone.now()
        Kit.objects.filter(pk=kit.pk).update(staged_at=kit.staged_at)
    return kit


def kit_issue(*, kit: Kit, actor: Any) -> Kit:
    """Issue the staged kit to its work order: its reservations are consumed by issue
    moves booked on the work order (a hold on the work order or a lot refuses it all)."""
    action_permission_require(actor, PICK, _("issue kits"))
    with transaction.atomic():
        kit = transition_run(instance=kit, transition="issue", user=actor)
        staged = list(
            _kit_reservations(kit)
            .filter(location_id=kit.staging_location_id, staged=True)
            .select_related("item", "lot", "location")
            .order_by("id")
        )
        if not staged:
            raise Conflict(_("%(kit)s has nothing staged to issue.") % {"kit": kit.number})
        moves = [
            move_post(
                type=MoveType.ISSUE,
                item=reservation.item,
                quantity=reservation.open_quantity,
                actor=actor,
                from_location=reservation.location,
                lot=reservation.lot,
                reservation=reservation,
                document_type=WORK_ORDER_DOCUMENT,
                document_id=kit.work_order_id,
                document_ref=kit.work_order_ref,
                note=kit.number,
            )
            for reservation in staged
        ]
        event_emit(
            type="kit.issued",
            subject=kit,
            payload={
                "number": kit.number,
                "work_order": kit.work_order_ref,
                "moves": len(moves),
            },
            actor=actor,
        )
    return kit


def kit_status_for_work_order(*, work_order_id: int) -> str | None:
    """The state of the work order's current kit (the latest not cancelled), or None."""
    return (
        Kit.objects.filter(work_order_id=work_order_id)
        .exclude(state=Kit.State.CANCELLED)
        .order_by("-id")
        .values_list("state", flat=True)
        .first()
    )
