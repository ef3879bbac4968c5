"""The shop floor: start, pause, resume and report operations, clock labour, report
downtime. Quantities follow good output downstream in transfer batches: what an
operation reports good becomes available to the next one at once, so the next can start
on a partial quantity and never runs more than has reached it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import permission_require
from mes.core.errors import Conflict, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.governance import reason_code_get
from mes.core.models import ReasonCode
from mes.core.transitions import transition_run

from ..calendars import overlap_minutes, working_windows
from ..models import (
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    OperationState,
    OperatorBadge,
    W,
    WorkCenter,
    WorkOrder,
)

O = OperationState  # noqa: E741
RUN = "planning.run_operation"
DOWNTIME = "planning.report_downtime"


def _quantity(value: Any, field: str) -> Decimal:
    """Zero or more, at most three decimals."""
    try:
        quantity = Decimal(str(value if value not in (None, "") else "0").strip())
    except Exception:  # noqa: BLE001 - any unparsable input is the user's typo
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if not quantity.is_finite() or quantity < 0:
        raise ValidationFailed(_("A quantity cannot be negative."), field=field)
    if quantity != quantity.quantize(Decimal("0.001")) or quantity > Decimal("99999999999"):
        raise ValidationFailed(_("Use at most three decimals."), field=field)
    return quantity.quantize(Decimal("0.001"))


def _reason(code: ReasonCode | str | None, field: str) -> ReasonCode:
    try:
        return reason_code_get(code)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field) from None


# --- operators on a shared tablet ---------------------------------------------------------


def pin_digest(pin: str) -> str:
    """A keyed hash, so a PIN identifies its operator without being stored."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"operator-pin:{pin}".encode(), hashlib.sha256).hexdigest()


def operator_badge_set(*, user: Any, badge_code: str = "", pin: str = "") -> OperatorBadge:
    if pin and (not pin.isdigit() or not 4 <= len(pin) <= 12):
        raise ValidationFailed(_("A PIN is 4 to 12 digits."), field="pin")
    badge, _created = OperatorBadge.objects.get_or_create(user=user)
    if badge_code:
        badge.badge_code = badge_code.strip()
    if pin:
        digest = pin_digest(pin)
        if OperatorBadge.objects.filter(pin_hash=digest).exclude(user=user).exists():
            raise ValidationFailed(
                _("That badge code or PIN is taken: choose another."), field="pin"
            )
        badge.pin_hash = digest
    try:
        with transaction.atomic():
            badge.save()
    except IntegrityError:
        raise ValidationFailed(
            _("That badge code or PIN is taken: choose another."), field="pin"
        ) from None
    return badge


def operator_identify(*, code: str) -> Any:
    """The operator behind a scanned badge or a typed PIN, or a clear refusal."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("Scan your badge or type your PIN."), field="operator")
    badge = (
        OperatorBadge.objects.filter(active=True, user__is_active=True)
        .filter(badge_code=code)
        .select_related("user")
        .first()
    )
    if badge is None and code.isdigit():
        badge = (
            OperatorBadge.objects.filter(
                active=True, user__is_active=True, pin_hash=pin_digest(code)
            )
            .select_related("user")
            .first()
        )
    if badge is None:
        raise NotPermitted(_("Badge or PIN not recognised."))
    return badge.user


# --- operations --------------------------------------------------------------------------


def _locked(operation: Operation) -> Operation:
    return (
        Operation.objects.select_for_update()
        .select_related("work_order", "work_center")
        .get(pk=operation.pk)
    )


def _check_work_center(op: Operation, at_work_center: WorkCenter | None) -> bool:
    """True when reported off the routing (recorded); refused when the center says so."""
    if at_work_center is None or at_work_center.pk == op.work_center_id:
        return False
    if at_work_center.refuse_wrong_routing:
        raise ValidationFailed(
            _("%(op)s is routed to %(routed)s, not %(here)s: report it there.")
            % {"op": op, "routed": op.work_center.code, "here": at_work_center.code},
            field="operation",
        )
    return True


def next_in_sequence(*, work_center: WorkCenter) -> Operation | None:
    """The operation the dispatch list puts first at this work center."""
    return (
        Operation.objects.filter(work_center=work_center, state=O.READY)
        .exclude(work_order__state=W.ON_HOLD)
        .order_by(F("dispatch_rank").asc(nulls_last=True), "scheduled_start", "id")
        .first()
    )


def operation_start(
    *,
    operation: Operation,
    operator: Any,
    at_work_center: WorkCenter | None = None,
    out_of_sequence_reason: str = "",
) -> Operation:
    """Start an operation that has quantity waiting; out of sequence needs a reason."""
    permission_require(operator, RUN, _("You are not allowed to run operations."))
    with transaction.atomic():
        op = _locked(operation)
        wrong_routing = _check_work_center(op, at_work_center)
        if op.work_order.state not in {W.RELEASED, W.IN_PROGRESS}:
            raise Conflict(
                _("%(wo)s is %(state)s: its operations do not run now.")
                % {"wo": op.work_order.number, "state": op.work_order.get_state_display()}
            )
        if op.work_center.status == WorkCenter.Status.DOWN:
            raise Conflict(
                _("%(wc)s is down: bring it up first.") % {"wc": op.work_center.code},
                code="work_center_down",
            )
        if op.state == O.READY and op.quantity_remaining <= 0:
            raise Conflict(_("Nothing has reached %(op)s yet.") % {"op": op}, code="nothing_to_run")
        first = next_in_sequence(work_center=op.work_center)
        out_of_sequence = first is not None and first.pk != op.pk
        if out_of_sequence and not (out_of_sequence_reason or "").strip():
            raise ValidationFailed(
                _("%(first)s is next at %(wc)s: say why %(op)s goes first.")
                % {"first": first, "wc": op.work_center.code, "op": op},
                field="out_of_sequence_reason",
                code="out_of_sequence",
            )
        comment = (
            _("Out of sequence (next was %(first)s): %(why)s")
            % {"first": first, "why": out_of_sequence_reason.strip()}
            if out_of_sequence
            else ""
        )
        if wrong_routing:
            comment = (
                comment
                + " "
                + _("Reported at %(wc)s, off the routing.")
                % {
                    "wc": at_work_center.code  # type: ignore[union-attr]
                }
            ).strip()
        started = transition_run(
            instance=op,
            transition="start",
            user=operator,
            comment=comment,
            event_type="operation.started",
            payload={
                "operation": str(op),
                "work_center": op.work_center.code,
                "out_of_sequence": out_of_sequence,
                "wrong_routing": wrong_routing,
            },
        )
        if wrong_routing:
            OperationReport.objects.create(
                operation=started,
                operator=operator,
                work_center=at_work_center,
                wrong_routing=True,
                note=_("Started off the routing"),
            )
        wo = op.work_order
        if wo.state == W.RELEASED:
            transition_run(
                instance=wo,
                transition="start",
                user=operator,
                event_type="workorder.status_changed",
                payload={"number": wo.number},
            )
            _issue_staged_kit(wo, operator)
        _clock_on(started, operator)
    return started


def _issue_staged_kit(work_order: WorkOrder, operator: Any) -> None:
    from inventory.models import Kit
    from inventory.services.kits import kit_issue

    kit = Kit.objects.filter(work_order_id=work_order.pk, state=Kit.State.STAGED).first()
    if kit is not None:
        kit_issue(kit=kit, actor=operator)


def operation_pause(
    *, operation: Operation, operator: Any, reason_code: ReasonCode | str, note: str = ""
) -> Operation:
    permission_require(operator, RUN, _("You are not allowed to run operations."))
    reason = reason_code_get(reason_code)
    with transaction.atomic():
        paused = transition_run(
            instance=operation,
            transition="pause",
            user=operator,
            reason_code=reason,
            comment=note.strip(),
            event_type="operation.paused",
            payload={"operation": str(operation), "reason": reason.code},
        )
        _clock_off_all(paused, at=timezone.now())
    return paused


def operation_resume(*, operation: Operation, operator: Any) -> Operation:
    permission_require(operator, RUN, _("You are not allowed to run operations."))
    with transaction.atomic():
        op = _locked(operation)
        if op.work_center.status == WorkCenter.Status.DOWN:
            raise Conflict(
                _("%(wc)s is down: bring it up first.") % {"wc": op.work_center.code},
                code="work_center_down",
            )
        resumed = transition_run(
            instance=op,
            transition="resume",
            user=operator,
            event_type="operation.resumed",
            payload={"operation": str(op)},
        )
        _clock_on(resumed, operator)
    return resumed


@dataclass
class ReportOutcome:
    operation: Operation
    report: OperationReport
    finished: bool
    work_order_completed: bool


def _upstream_open(op: Operation) -> bool:
    return (
        Operation.objects.filter(
            work_order_id=op.work_order_id, sequence__lt=op.sequence, is_rework=False
        )
        .exclude(state__in=[O.DONE, O.CANCELLED])
        .exists()
        if not op.is_rework
        else Operation.objects.filter(work_order_id=op.work_order_id, is_rework=False)
        .exclude(state__in=[O.DONE, O.CANCELLED])
        .filter(sequence__lt=op.sequence)
        .exists()
    )


def _downstream(op: Operation) -> Operation | None:
    return (
        Operation.objects.select_for_update()
        .filter(work_order_id=op.work_order_id, sequence__gt=op.sequence, is_rework=False)
        .exclude(state=O.CANCELLED)
        .order_by("sequence")
        .first()
    )


def _rework_operation(op: Operation) -> Operation | None:
    return (
        Operation.objects.select_for_update()
        .filter(work_order_id=op.work_order_id, is_rework=True, sequence__gt=op.sequence)
        .exclude(state=O.CANCELLED)
        .order_by("sequence")
        .first()
    )


def operation_report(
    *,
    operation: Operation,
    operator: Any,
    good: Any = 0,
    scrap: Any = 0,
    rework: Any = 0,
    scrap_reason: ReasonCode | str | None = None,
    rework_reason: ReasonCode | str | None = None,
    note: str = "",
    at_work_center: WorkCenter | None = None,
    finish: bool | None = None,
) -> ReportOutcome:
    """Report good, scrap and rework quantities. Good output is available downstream at
    once; scrap lowers what downstream may complete; rework goes to the routing's rework
    operation. The operation is done when nothing more can reach it."""
    permission_require(operator, RUN, _("You are not allowed to report operations."))
    good_q, scrap_q, rework_q = (
        _quantity(good, "good"),
        _quantity(scrap, "scrap"),
        _quantity(rework, "rework"),
    )
    total = good_q + scrap_q + rework_q
    if total <= 0:
        raise ValidationFailed(_("Report a good, scrap or rework quantity."), field="good")
    if scrap_q and not scrap_reason:
        raise ValidationFailed(_("Say why it was scrapped."), field="scrap_reason")
    if rework_q and not rework_reason:
        raise ValidationFailed(_("Say why it goes to rework."), field="rework_reason")
    scrap_code = _reason(scrap_reason, "scrap_reason") if scrap_q else None
    rework_code = _reason(rework_reason, "rework_reason") if rework_q else None
    with transaction.atomic():
        op = _locked(operation)
        wrong_routing = _check_work_center(op, at_work_center)
        if op.state not in {O.RUNNING, O.PAUSED}:
            raise Conflict(
                _("Start %(op)s before reporting on it (it is %(state)s).")
                % {"op": op, "state": op.get_state_display()},
                code="not_running",
            )
        if total > op.quantity_remaining:
            raise ValidationFailed(
                _("Only %(left)s can still be reported on %(op)s; %(wanted)s reported.")
                % {
                    "left": quantity_text(op.quantity_remaining),
                    "op": op,
                    "wanted": quantity_text(total),
                },
                field="good",
            )
        rework_op = _rework_operation(op) if rework_q else None
        if rework_q and rework_op is None:
            raise ValidationFailed(
                _("The routing has no rework operation after %(op)s.") % {"op": op},
                field="rework",
            )
        Operation.objects.filter(pk=op.pk).update(
            quantity_good=F("quantity_good") + good_q,
            quantity_scrap=F("quantity_scrap") + scrap_q,
            quantity_rework=F("quantity_rework") + rework_q,
        )
        report = OperationReport.objects.create(
            operation=op,
            operator=operator if getattr(operator, "pk", None) else None,
            work_center=at_work_center or op.work_center,
            quantity_good=good_q,
            quantity_scrap=scrap_q,
            quantity_rework=rework_q,
            scrap_reason=scrap_code,
            rework_reason=rework_code,
            wrong_routing=wrong_routing,
            note=note.strip()[:300],
        )
        if good_q:
            nxt = _downstream(op)
            if nxt is not None:
                Operation.objects.filter(pk=nxt.pk).update(
                    quantity_available=F("quantity_available") + good_q
                )
                if nxt.state in {O.PENDING, O.BLOCKED}:
                    transition_run(
                        instance=nxt, transition="make_ready", user=operator, check_permission=False
                    )
        if rework_op is not None:
            Operation.objects.filter(pk=rework_op.pk).update(
                quantity_available=F("quantity_available") + rework_q,
                quantity_planned=F("quantity_planned") + rework_q,
            )
            if rework_op.state in {O.PENDING, O.BLOCKED, O.DONE}:
                if rework_op.state == O.DONE:
                    Operation.objects.filter(pk=rework_op.pk).update(state=O.READY)
                else:
                    transition_run(
                        instance=rework_op,
                        transition="make_ready",
                        user=operator,
                        check_permission=False,
                    )
        op.refresh_from_db()
        finished = False
        if op.quantity_remaining == 0 and not _upstream_open(op):
            finished = True
        elif finish is True:
            raise ValidationFailed(
                _(
                    "%(op)s still has %(left)s to report or upstream work open: "
                    "it cannot finish yet."
                )
                % {"op": op, "left": quantity_text(op.quantity_remaining)},
                field="finish",
            )
        if finished:
            op = transition_run(
                instance=op,
                transition="finish",
                user=operator,
                event_type="operation.completed",
                payload={
                    "operation": str(op),
                    "good": float(op.quantity_good),
                    "scrap": float(op.quantity_scrap),
                },
            )
            _clock_off_all(op, at=timezone.now())
        elif op.quantity_remaining == 0 and finish is not False:
            # Everything that reached it is done; it waits, ready, for more from upstream.
            op = transition_run(
                instance=op, transition="stop_partial", user=operator, check_permission=False
            )
            _clock_off_all(op, at=timezone.now())
        completed = _complete_work_order_when_done(op, operator) if finished else False
        _downstream_finish_if_starved(op, operator)
    return ReportOutcome(op, report, finished, completed)


def _downstream_finish_if_starved(op: Operation, operator: Any) -> None:
    """When an upstream step finishes with scrap, a downstream step that has done all
    that will ever reach it is finished too."""
    if op.state != O.DONE:
        return
    for nxt in (
        Operation.objects.filter(
            work_order_id=op.work_order_id, sequence__gt=op.sequence, is_rework=False
        )
        .exclude(state__in=[O.DONE, O.CANCELLED, O.RUNNING])
        .order_by("sequence")
    ):
        if nxt.quantity_remaining > 0 or _upstream_open(nxt):
            return
        if nxt.quantity_available == 0 and nxt.state == O.PENDING:
            # Nothing good ever reached it: all of it was scrapped upstream.
            Operation.objects.filter(pk=nxt.pk).update(state=O.READY)
            nxt.refresh_from_db()
        transition_run(instance=nxt, transition="finish", user=operator, check_permission=False)
    _complete_work_order_when_done(op, operator)


def _complete_work_order_when_done(op: Operation, operator: Any) -> bool:
    wo = WorkOrder.objects.select_for_update().get(pk=op.work_order_id)
    if wo.state != W.IN_PROGRESS:
        return False
    if Operation.objects.filter(work_order=wo).exclude(state__in=[O.DONE, O.CANCELLED]).exists():
        return False
    last = (
        Operation.objects.filter(work_order=wo, is_rework=False)
        .exclude(state=O.CANCELLED)
        .order_by("-sequence")
        .first()
    )
    good = last.quantity_good if last else Decimal("0")
    scrap = Operation.objects.filter(work_order=wo).aggregate(total=Sum("quantity_scrap"))[
        "total"
    ] or Decimal("0")
    WorkOrder.objects.filter(pk=wo.pk).update(quantity_good=good, quantity_scrap=scrap)
    completed = transition_run(
        instance=wo,
        transition="complete",
        user=operator,
        check_permission=False,
        event_type="workorder.status_changed",
        payload={"number": wo.number, "good": float(good), "scrap": float(scrap)},
    )
    _receive_output(completed, good, operator)
    return True


def _receive_output(work_order: WorkOrder, good: Decimal, operator: Any) -> None:
    """Backflush what is flagged for it, then receive the good output as a new lot."""
    from inventory.models import BomLine, Location
    from inventory.services.production import production_receive, work_order_backflush

    actor = operator
    made = good + work_order.quantity_scrap
    backflushed = [
        (line.component, (line.quantity_per * made).quantize(Decimal("0.001")))
        for line in BomLine.objects.filter(
            bom__item_id=work_order.item_id, component__backflush=True
        ).select_related("component")
    ]
    backflushed = [(item, qty) for item, qty in backflushed if qty > 0]
    if backflushed:
        work_order_backflush(
            work_order_id=work_order.pk,
            work_order_ref=work_order.number,
            components=backflushed,
            actor=actor,
        )
    if good <= 0:
        return
    location = (
        work_order.output_location
        or work_order.item.default_stock_location
        or Location.objects.filter(active=True, type=Location.Type.STOCK).order_by("code").first()
    )
    if location is None:
        raise Conflict(_("No stock location to receive %(wo)s into.") % {"wo": work_order.number})
    production_receive(
        work_order_id=work_order.pk,
        work_order_ref=work_order.number,
        item=work_order.item,
        quantity=good,
        to_location=location,
        actor=actor,
    )


# --- labour --------------------------------------------------------------------------------


def _clock_on(operation: Operation, operator: Any) -> LabourEntry | None:
    if not getattr(operator, "pk", None):
        return None
    entry = LabourEntry.objects.filter(
        operation=operation, operator=operator, clock_off__isnull=True
    ).first()
    return entry or LabourEntry.objects.create(operation=operation, operator=operator)


def labour_clock_on(*, operation: Operation, operator: Any) -> LabourEntry:
    """An operator joins a running operation (several operators, or one on several)."""
    permission_require(operator, RUN, _("You are not allowed to clock on operations."))
    with transaction.atomic():
        op = _locked(operation)
        if op.state != O.RUNNING:
            raise Conflict(_("%(op)s is not running.") % {"op": op})
        return _clock_on(op, operator)  # type: ignore[return-value]


def labour_clock_off(
    *, operation: Operation, operator: Any, at: dt.datetime | None = None
) -> LabourEntry:
    permission_require(operator, RUN, _("You are not allowed to clock off operations."))
    with transaction.atomic():
        entry = (
            LabourEntry.objects.select_for_update()
            .filter(operation=operation, operator=operator, clock_off__isnull=True)
            .first()
        )
        if entry is None:
            raise Conflict(
                _("%(who)s is not clocked on %(op)s.") % {"who": operator, "op": operation}
            )
        _close_entries([entry], at=at or timezone.now())
    return entry


def _clock_off_all(operation: Operation, *, at: dt.datetime) -> None:
    entries = list(
        LabourEntry.objects.select_for_update().filter(operation=operation, clock_off__isnull=True)
    )
    _close_entries(entries, at=at)


def _close_entries(entries: list[LabourEntry], *, at: dt.datetime) -> None:
    """Close clock entries: an operator on several operations at once has the time split
    evenly between them; minutes outside the work center's shifts count as overtime."""
    for entry in entries:
        parallel = (
            LabourEntry.objects.filter(operator_id=entry.operator_id, clock_on__lt=at)
            .exclude(pk=entry.pk)
            .filter(clock_off__isnull=True)
            .count()
        )
        elapsed = max((at - entry.clock_on).total_seconds() / 60, 0)
        share = Decimal(str(round(elapsed / (1 + parallel), 2)))
        wc = entry.operation.work_center
        windows = working_windows(
            work_centers=[wc], start=entry.clock_on, end=at, include_downtime=False
        )[wc.pk]
        inside = overlap_minutes(windows, entry.clock_on, at)
        overtime = Decimal(str(round((elapsed - inside) / (1 + parallel), 2)))
        entry.clock_off = at
        entry.minutes = share
        entry.overtime_minutes = max(overtime, Decimal("0"))
        entry.save(update_fields=["clock_off", "minutes", "overtime_minutes"])


# --- downtime ------------------------------------------------------------------------------


def downtime_report(
    *,
    work_center: WorkCenter,
    user: Any,
    reason_code: ReasonCode | str,
    note: str = "",
    expected_end: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
) -> Downtime:
    """Mark a work center down: running operations pause, the event raises what the rules
    say, and the schedule is re-run around it."""
    permission_require(user, DOWNTIME, _("You are not allowed to report downtime."))
    reason = reason_code_get(reason_code)
    now = timezone.now()
    started_at = started_at or now
    if started_at > now + dt.timedelta(minutes=1):
        raise ValidationFailed(_("Downtime cannot start in the future."), field="started_at")
    with transaction.atomic():
        wc = WorkCenter.objects.select_for_update().get(pk=work_center.pk)
        if wc.status == WorkCenter.Status.DOWN:
            raise Conflict(_("%(wc)s is already down.") % {"wc": wc.code}, code="already_down")
        downtime = Downtime.objects.create(
            work_center=wc,
            reason_code=reason,
            note=note.strip()[:300],
            started_at=started_at,
            expected_end=expected_end,
            reported_by=user if getattr(user, "pk", None) else None,
        )
        WorkCenter.objects.filter(pk=wc.pk).update(status=WorkCenter.Status.DOWN)
        for op in Operation.objects.filter(work_center=wc, state=O.RUNNING):
            transition_run(
                instance=op,
                transition="pause",
                user=user,
                check_permission=False,
                reason_code=reason,
                comment=_("%(wc)s went down") % {"wc": wc.code},
            )
            _clock_off_all(op, at=now)
        event_emit(
            type="workcenter.down",
            subject=wc,
            payload={
                "work_center": wc.code,
                "reason": reason.label,
                "down_minutes": int((now - started_at).total_seconds() // 60),
                "downtime": downtime.pk,
            },
            actor=user,
        )
    return downtime


def work_center_bring_up(*, work_center: WorkCenter, user: Any, note: str = "") -> Downtime:
    """One step: the open downtime is closed and the work center runs again."""
    permission_require(user, DOWNTIME, _("You are not allowed to bring work centers up."))
    now = timezone.now()
    with transaction.atomic():
        wc = WorkCenter.objects.select_for_update().get(pk=work_center.pk)
        downtime = (
            Downtime.objects.select_for_update()
            .filter(work_center=wc, ended_at__isnull=True)
            .first()
        )
        if wc.status != WorkCenter.Status.DOWN or downtime is None:
            raise Conflict(_("%(wc)s is not down.") % {"wc": wc.code}, code="not_down")
        downtime.ended_at = max(now, downtime.started_at)
        downtime.ended_by = user if getattr(user, "pk", None) else None
        if note.strip():
            downtime.note = (downtime.note + " / " + note.strip()).strip(" /")[:300]
        downtime.save(update_fields=["ended_at", "ended_by", "note"])
        WorkCenter.objects.filter(pk=wc.pk).update(status=WorkCenter.Status.UP)
        event_emit(
            type="workcenter.up",
            subject=wc,
            payload={
                "work_center": wc.code,
                "down_minutes": int(
                    (downtime.ended_at - downtime.started_at).total_seconds() // 60
                ),
                "downtime": downtime.pk,
            },
            actor=user,
        )
    return downtime


def downtimes_progress(*, now: dt.datetime | None = None) -> int:
    """Re-announce open downtimes with how long they have lasted, so rules with a
    duration ("down for more than 15 minutes") fire when the time comes."""
    now = now or timezone.now()
    count = 0
    for downtime in Downtime.objects.filter(ended_at__isnull=True).select_related(
        "work_center", "reason_code"
    ):
        with transaction.atomic():
            event_emit(
                type="workcenter.down",
                subject=downtime.work_center,
                payload={
                    "work_center": downtime.work_center.code,
                    "reason": downtime.reason_code.label,
                    "down_minutes": int((now - downtime.started_at).total_seconds() // 60),
                    "downtime": downtime.pk,
                },
            )
        count += 1
    return count
