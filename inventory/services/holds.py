"""Quality holds: Quality stops every use of a lot, a location or a work order's material
until it releases the hold. A hold moves no stock; the ledger and the reservations refuse
held stock (see `stock_blockers` and `reservable_balances`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.errors import IllegalTransition, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode
from mes.core.numbering import number_assign, number_placeholder

from ..models import Location, Lot, QualityHold
from ..selectors import holds_for_work_order

__all__ = ["hold_place", "hold_release", "holds_for_work_order"]

PLACE = "inventory.place_hold"
RELEASE = "inventory.release_hold"


def _covers(hold: QualityHold) -> dict[str, Any]:
    """What the hold applies to, for event payloads."""
    payload: dict[str, Any] = {"scope": hold.scope}
    if hold.lot_id:
        payload["lot"] = hold.lot.number
        payload["item"] = hold.lot.item.sku
    if hold.location_id:
        payload["location"] = hold.location.code
    if hold.work_order_id:
        payload["work_order"] = hold.work_order_ref
        payload["work_order_id"] = hold.work_order_id
    return payload


def hold_place(
    *,
    scope: str,
    actor: Any,
    reason_code: ReasonCode | str | None,
    note: str,
    lot: Lot | None = None,
    location: Location | None = None,
    work_order_id: int | None = None,
    work_order_ref: str = "",
) -> QualityHold:
    """Hold a lot (wherever it lies), a location (whatever lies there) or a work order;
    emits `quality.hold_placed`. Names exactly the one thing its scope says."""
    if actor is None or not actor.has_perm(PLACE):
        raise NotPermitted(_("Only Quality places holds."))
    note = (note or "").strip()
    work_order_ref = (work_order_ref or "").strip()
    errors: dict[str, list[str]] = {}
    if scope not in QualityHold.Scope.values:
        errors["scope"] = [
            _("A hold applies to one of: %(choices)s.")
            % {"choices": ", ".join(QualityHold.Scope.values)}
        ]
    named = {
        QualityHold.Scope.LOT: lot is not None,
        QualityHold.Scope.LOCATION: location is not None,
        QualityHold.Scope.WORK_ORDER: work_order_id is not None,
    }
    labels = {
        QualityHold.Scope.LOT: _("Name the lot the hold applies to."),
        QualityHold.Scope.LOCATION: _("Name the location the hold applies to."),
        QualityHold.Scope.WORK_ORDER: _("Name the work order the hold applies to."),
    }
    if scope in named:
        if not named[scope]:
            errors[scope] = [labels[scope]]
        for other, given in named.items():
            if other != scope and given:
                errors[other] = [_("A %(scope)s hold names only its %(scope)s.") % {"scope": scope}]
    if scope == QualityHold.Scope.WORK_ORDER and work_order_id is not None:
        if isinstance(work_order_id, bool) or not isinstance(work_order_id, int):
            errors["work_order"] = [_("Name the work order the hold applies to.")]
        elif not work_order_ref:
            work_order_ref = f"WO {work_order_id}"
    if not note:
        errors["note"] = [_("Say what is wrong in a few words.")]
    if errors:
        raise ValidationFailed(_("The hold is not valid."), errors=errors)
    reason = reason_code_get(reason_code)
    with transaction.atomic():
        hold = QualityHold.objects.create(
            number=number_placeholder(),
            scope=scope,
            lot=lot,
            location=location,
            work_order_id=work_order_id,
            work_order_ref=work_order_ref[:40],
            reason_code=reason,
            note=note,
            placed_by=actor,
            placed_at=timezone.now(),
        )
        number_assign(hold, "QH")
        event_emit(
            type="quality.hold_placed",
            subject=hold,
            payload={
                "hold": hold.number,
                "reason": reason.code,
                "note": note,
                "message": _("Hold %(hold)s on %(covers)s: %(note)s")
                % {"hold": hold.number, "covers": hold.covers, "note": note},
                **_covers(hold),
            },
            actor=actor,
        )
    return hold


def hold_release(
    *, hold: QualityHold, actor: Any, reason_code: ReasonCode | str | None, note: str
) -> QualityHold:
    """Lift a hold, with a reason; emits `quality.hold_released`. The stock it covered is
    usable again unless another hold, expiry or quarantine still blocks it."""
    if actor is None or not actor.has_perm(RELEASE):
        raise NotPermitted(_("Only Quality releases holds."))
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say why the hold is released."), field="note")
    reason = reason_code_get(reason_code)
    with transaction.atomic():
        locked = (
            QualityHold.objects.select_for_update(of=("self",))
            .select_related("lot__item", "location")
            .get(pk=hold.pk)
        )
        if locked.state != QualityHold.State.ACTIVE:
            raise IllegalTransition(
                _("Hold %(hold)s is already released. Allowed now: none.")
                % {"hold": locked.number},
                current_state=locked.state,
                allowed=[],
                transition="release",
            )
        locked.state = QualityHold.State.RELEASED
        locked.released_by = actor
        locked.released_at = timezone.now()
        locked.release_reason_code = reason
        locked.release_note = note
        locked.save(
            update_fields=[
                "state",
                "released_by",
                "released_at",
                "release_reason_code",
                "release_note",
            ]
        )
        event_emit(
            type="quality.hold_released",
            subject=locked,
            payload={
                "hold": locked.number,
                "reason": reason.code,
                "note": note,
                **_covers(locked),
            },
            actor=actor,
        )
    return locked
