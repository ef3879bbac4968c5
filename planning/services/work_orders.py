"""Work orders: made from sales-order lines or by hand, operations from the routing,
components reserved through inventory; release as a check point that lists every reason
a work order cannot go to the floor; priority as a score that explains itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.actors import permission_check
from mes.core.errors import Conflict, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.formatting import quantity_text
from mes.core.governance import governed_field_change, reason_code_get
from mes.core.models import FieldChange, ReasonCode
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run

from ..calendars import minutes_in, working_windows
from ..models import (
    Operation,
    OperationState,
    RoutingOperation,
    W,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)

# Capacity is checked over this many days ahead when a work order is released.
RELEASE_CAPACITY_HORIZON_DAYS = 7
OPEN_OPERATION_STATES = [
    OperationState.PENDING,
    OperationState.READY,
    OperationState.RUNNING,
    OperationState.PAUSED,
    OperationState.BLOCKED,
]


def _link(name: str, *args: Any, query: str = "") -> str:
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return ""


def operation_minutes(operation: Operation | RoutingOperation, quantity: Decimal) -> int:
    """Setup plus run time for the quantity, in whole minutes (rounded up)."""
    run = (Decimal(operation.run_minutes_per_unit) * quantity).to_integral_value(ROUND_UP)
    return int(operation.setup_minutes + run)


# --- creating work orders --------------------------------------------------------------


def _components_for(item: Any, quantity: Decimal) -> list[tuple[Any, Decimal]]:
    """BOM components for a quantity, with their scrap allowance, rounded up to 0.001."""
    return _needed(_components_by_item([item]).get(item.pk, []), quantity)


def _staging_location_for(work_order: WorkOrder) -> Any:
    from inventory.models import Location

    first = work_order.operations.select_related("work_center__line_side_location").first()
    if first is not None and first.work_center.line_side_location_id:
        return first.work_center.line_side_location
    return (
        Location.objects.filter(
            active=True, type__in=[Location.Type.LINE_SIDE, Location.Type.STAGING]
        )
        .order_by("type", "code")
        .first()
    )


def work_order_create(
    *,
    item: Any,
    quantity: Decimal | int | str,
    user: Any,
    due_date: dt.date | None = None,
    sales_order_line: Any = None,
    notes: str = "",
    reserve_components: bool = True,
) -> WorkOrder:
    """Plan a work order: operations from the item's routing, components reserved (a
    shortfall is raised by inventory as `material.shortage`)."""
    from inventory.services.ledger import quantity_clean

    permission_check(user, "planning.plan_workorder", _("You are not allowed to plan work orders."))
    quantity = quantity_clean(quantity)
    if item.source != "make":
        raise ValidationFailed(
            _("%(sku)s is bought, not made: it needs a purchase, not a work order.")
            % {"sku": item.sku},
            field="item",
        )
    if not item.active:
        raise ValidationFailed(_("%(sku)s is not active.") % {"sku": item.sku}, field="item")
    with transaction.atomic():
        work_order = WorkOrder.objects.create(
            number=number_placeholder(),
            kind=WorkOrder.Kind.MAKE_TO_ORDER if sales_order_line else WorkOrder.Kind.MAKE_TO_STOCK,
            item=item,
            quantity=quantity,
            sales_order_line=sales_order_line,
            due_date=due_date
            or (sales_order_line.promise_date if sales_order_line is not None else None),
            notes=notes,
            created_by=user if getattr(user, "pk", None) else None,
        )
        number_assign(work_order, "WO")
        _operations_from_routing(work_order)
        event_emit(
            type="workorder.created",
            subject=work_order,
            payload={
                "number": work_order.number,
                "item": item.sku,
                "quantity": float(quantity),
                "order": sales_order_line.order.number if sales_order_line is not None else "",
            },
            actor=user,
        )
        if reserve_components:
            components = _components_for(item, quantity)
            staging = _staging_location_for(work_order) if components else None
            if components and staging is not None:
                from inventory.services.kits import kit_create

                kit_create(
                    work_order_id=work_order.pk,
                    work_order_ref=work_order.number,
                    staging_location=staging,
                    components=components,
                    actor=user,
                )
        priority_refresh(work_order=work_order)
    return work_order


def _operations_from_routing(work_order: WorkOrder) -> list[Operation]:
    steps = list(
        RoutingOperation.objects.filter(routing__item=work_order.item).order_by("sequence")
    )
    operations = [
        Operation(
            work_order=work_order,
            sequence=step.sequence,
            name=step.name,
            work_center_id=step.work_center_id,
            changeover_family_id=step.changeover_family_id,
            setup_minutes=step.setup_minutes,
            run_minutes_per_unit=step.run_minutes_per_unit,
            quality_check=step.quality_check,
            is_rework=step.is_rework,
            quantity_planned=Decimal("0") if step.is_rework else work_order.quantity,
        )
        for step in steps
    ]
    return Operation.objects.bulk_create(operations)


def work_orders_for_sales_order(*, order: Any, user: Any) -> list[WorkOrder]:
    """Make-to-order: one work order per confirmed line of a made item that has none yet."""
    from orders.models import OrderState

    if order.state not in {OrderState.CONFIRMED, OrderState.IN_PRODUCTION}:
        raise Conflict(
            _("Work orders are made from confirmed orders; %(order)s is %(state)s.")
            % {"order": order.number, "state": order.get_state_display()}
        )
    created = []
    with transaction.atomic():
        lines = order.lines.select_related("item").exclude(
            work_orders__state__in=[s for s in WorkOrderState.values if s != W.CANCELLED]
        )
        for line in lines:
            if line.item.source != "make":
                continue
            created.append(
                work_order_create(
                    item=line.item,
                    quantity=line.quantity - line.shipped_quantity,
                    user=user,
                    sales_order_line=line,
                )
            )
    return created


# --- release: a check point -------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseBlocker:
    code: str
    message: str
    link: str = ""
    rule: str = ""
    item: str = ""
    missing: Decimal | None = None


@dataclass
class ReleaseCheck:
    work_order: WorkOrder
    blockers: list[ReleaseBlocker] = field(default_factory=list)

    @property
    def releasable(self) -> bool:
        return not self.blockers


def release_check(*, work_order: WorkOrder, now: dt.datetime | None = None) -> ReleaseCheck:
    """Every reason the work order cannot be released now, each with what resolves it."""
    return release_checks(work_orders=[work_order], now=now)[0]


def _components_by_item(items: list[Any]) -> dict[int, list[tuple[Any, Decimal, Decimal]]]:
    """{item id: [(component, quantity per, scrap %)]} in one query."""
    from inventory.models import BomLine

    per_item: dict[int, list[tuple[Any, Decimal, Decimal]]] = {}
    for line in BomLine.objects.filter(bom__item__in=items).select_related("component", "bom"):
        per_item.setdefault(line.bom.item_id, []).append(
            (line.component, line.quantity_per, line.scrap_allowance_pct)
        )
    return per_item


def _needed(
    bom: list[tuple[Any, Decimal, Decimal]], quantity: Decimal
) -> list[tuple[Any, Decimal]]:
    return [
        (
            component,
            (per * quantity * (1 + scrap / 100)).quantize(Decimal("0.001"), rounding=ROUND_UP),
        )
        for component, per, scrap in bom
    ]


def release_checks(
    *, work_orders: list[WorkOrder], now: dt.datetime | None = None
) -> list[ReleaseCheck]:
    """Release checks for many work orders in a fixed number of queries (the board).
    Read-only: rules' other effects apply when a work order is actually released."""
    from exceptions.engine import matching_rules, render_template, rules_for
    from exceptions.models import DecisionRule
    from exceptions.subjects import subject_snapshot
    from inventory.models import Kit, QualityHold, Reservation

    rules = rules_for("release")

    now = now or timezone.now()
    ids = [wo.pk for wo in work_orders]
    operations: dict[int, list[Operation]] = {}
    for op in Operation.objects.filter(work_order_id__in=ids).select_related("work_center"):
        operations.setdefault(op.work_order_id, []).append(op)
    boms = _components_by_item([wo.item_id for wo in work_orders])
    reserved: dict[tuple[int, int], Decimal] = {}
    for row in (
        Reservation.objects.filter(
            demand_type="work_order",
            demand_id__in=ids,
            state__in=[Reservation.State.ACTIVE, Reservation.State.CONSUMED],
        )
        .values("demand_id", "item_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    ):
        reserved[(row["demand_id"], row["item_id"])] = row["total"]
    kit_states = dict(
        Kit.objects.filter(work_order_id__in=ids)
        .exclude(state=Kit.State.CANCELLED)
        .values_list("work_order_id", "state")
    )
    lots_by_wo: dict[int, set[int]] = {}
    for wo_id, lot_id in Reservation.objects.filter(
        demand_type="work_order", demand_id__in=ids, lot__isnull=False
    ).values_list("demand_id", "lot_id"):
        lots_by_wo.setdefault(wo_id, set()).add(lot_id)
    all_lots = set().union(*lots_by_wo.values()) if lots_by_wo else set()
    holds = list(
        QualityHold.objects.filter(state=QualityHold.State.ACTIVE).filter(
            Q(scope=QualityHold.Scope.WORK_ORDER, work_order_id__in=ids)
            | Q(scope=QualityHold.Scope.LOT, lot_id__in=all_lots)
        )
    )
    capacity = _CapacityPicture.build([op for ops in operations.values() for op in ops], now=now)
    checks = []
    for wo in work_orders:
        check = ReleaseCheck(work_order=wo)
        add = check.blockers.append
        ops = sorted(operations.get(wo.pk, []), key=lambda o: o.sequence)
        if not ops:
            add(
                ReleaseBlocker(
                    "no_routing",
                    _("%(sku)s has no routing: the work order has no operations.")
                    % {"sku": wo.item.sku},
                    _link("admin:planning_routing_changelist", query=f"item__sku={wo.item.sku}"),
                )
            )
        components = _needed(boms.get(wo.item_id, []), wo.quantity)
        short = [
            (component, needed - reserved.get((wo.pk, component.pk), Decimal("0")))
            for component, needed in components
            if reserved.get((wo.pk, component.pk), Decimal("0")) < needed
        ]
        for component, missing in short:
            add(
                ReleaseBlocker(
                    "material_short",
                    _("%(sku)s is short by %(missing)s %(unit)s.")
                    % {
                        "sku": component.sku,
                        "missing": quantity_text(missing),
                        "unit": component.unit,
                    },
                    _link("inventory:stock", query=f"item={component.sku}"),
                    item=component.sku,
                    missing=missing,
                )
            )
        kit_state = kit_states.get(wo.pk)
        kit_staged = not components or kit_state in {Kit.State.STAGED, Kit.State.ISSUED}
        if components and not kit_staged and not short:
            add(
                ReleaseBlocker(
                    "kit_not_staged",
                    _("The kit is %(state)s, not staged at the line.")
                    % {"state": kit_state or _("not made")},
                    _link("inventory:kits"),
                )
            )
        wo_holds = [
            h
            for h in holds
            if (h.scope == QualityHold.Scope.WORK_ORDER and h.work_order_id == wo.pk)
            or (h.scope == QualityHold.Scope.LOT and h.lot_id in lots_by_wo.get(wo.pk, set()))
        ]
        for hold in wo_holds:
            add(
                ReleaseBlocker(
                    "quality_hold",
                    _("Quality hold %(hold)s: %(why)s") % {"hold": hold.number, "why": hold.note},
                    _link("inventory:holds"),
                )
            )
        for wc in sorted(
            {op.work_center for op in ops if op.work_center.status == "down"}, key=str
        ):
            add(
                ReleaseBlocker(
                    "work_center_down",
                    _("Work center %(wc)s is down.") % {"wc": wc.code},
                    _link("planning:dispatch", wc.code),
                )
            )
        for wc, load, available in capacity.overloads(ops):
            add(
                ReleaseBlocker(
                    "capacity",
                    _(
                        "%(wc)s is loaded %(load)s of %(capacity)s minutes over the next "
                        "%(days)s days with this order."
                    )
                    % {
                        "wc": wc.code,
                        "load": load,
                        "capacity": int(available),
                        "days": RELEASE_CAPACITY_HORIZON_DAYS,
                    },
                    _link("planning:load"),
                )
            )
        line = wo.sales_order_line
        context = {
            # Release rules see the sales order behind a make-to-order work order as `order`.
            **(subject_snapshot(line.order) if line is not None else {}),
            "work_order": {
                "number": wo.number,
                "item": wo.item.sku,
                "quantity": float(wo.quantity),
            },
            "material_short": bool(short),
            "kit_staged": kit_staged,
            "quality_hold": bool(wo_holds),
        }
        blocks = [
            (rule, render_template(rule.message or rule.name, context))
            for rule in matching_rules(rules, context, record_errors=False)
            if rule.effect == DecisionRule.Effect.BLOCK
        ]
        covered = {b.code for b in check.blockers}
        for rule, message in blocks:
            # The default rules restate material and hold blockers already listed above.
            if ("material_short" in rule.condition and "material_short" in covered) or (
                "quality_hold" in rule.condition and "quality_hold" in covered
            ):
                continue
            add(
                ReleaseBlocker(
                    "rule",
                    message,
                    _link("admin:exceptions_decisionrule_change", rule.pk),
                    rule=rule.name,
                )
            )
        checks.append(check)
    return checks


@dataclass
class _CapacityPicture:
    """Released load and calendar minutes per work center over the release horizon."""

    load: dict[int, int]
    available: dict[int, float]

    @classmethod
    def build(cls, operations: list[Operation], *, now: dt.datetime) -> _CapacityPicture:
        centers = {op.work_center_id: op.work_center for op in operations}
        if not centers:
            return cls({}, {})
        horizon_end = now + dt.timedelta(days=RELEASE_CAPACITY_HORIZON_DAYS)
        windows = working_windows(work_centers=list(centers.values()), start=now, end=horizon_end)
        load: dict[int, int] = {}
        for op in Operation.objects.filter(
            work_center_id__in=centers,
            state__in=OPEN_OPERATION_STATES,
            work_order__state__in=[W.RELEASED, W.IN_PROGRESS],
        ).filter(
            Q(work_order__due_date__isnull=True) | Q(work_order__due_date__lte=horizon_end.date())
        ):
            remaining = op.quantity_planned - op.quantity_good - op.quantity_scrap
            load[op.work_center_id] = load.get(op.work_center_id, 0) + operation_minutes(
                op, max(remaining, Decimal("0"))
            )
        available = {
            wc_id: minutes_in(windows.get(wc_id, [])) * wc.capacity for wc_id, wc in centers.items()
        }
        return cls(load, available)

    def overloads(self, operations: list[Operation]) -> list[tuple[WorkCenter, int, float]]:
        """Work centers whose released load plus these operations exceed the calendar."""
        extra: dict[int, int] = {}
        centers: dict[int, WorkCenter] = {}
        for op in operations:
            centers[op.work_center_id] = op.work_center
            extra[op.work_center_id] = extra.get(op.work_center_id, 0) + operation_minutes(
                op, op.quantity_planned
            )
        result = []
        for wc_id, minutes in extra.items():
            wc = centers[wc_id]
            if wc.status == WorkCenter.Status.DOWN:
                continue  # listed as down already; its capacity returns when it is up
            total = self.load.get(wc_id, 0) + minutes
            if total > self.available.get(wc_id, 0):
                result.append((wc, total, self.available.get(wc_id, 0)))
        return sorted(result, key=lambda x: x[0].code)


def work_order_release(
    *,
    work_order: WorkOrder,
    user: Any,
    override_reason_code: ReasonCode | str | None = None,
    override_note: str = "",
) -> WorkOrder:
    """Release to the floor. With blockers, only a planner who may override, naming a
    reason, releases anyway; what was overridden is recorded with the transition."""
    permission_check(
        user, "planning.release_workorder", _("You are not allowed to release work orders.")
    )
    if work_order.state != W.PLANNED:
        # Let the transition machinery name the allowed actions.
        return transition_run(instance=work_order, transition="release", user=user)
    check = release_check(work_order=work_order)
    overridden: list[str] = []
    comment = ""
    reason = None
    if check.blockers:
        if not override_reason_code:
            _shortages_at_release_report(work_order, check, user)
            raise Conflict(
                _("%(wo)s cannot be released: %(reasons)s")
                % {"wo": work_order.number, "reasons": " ".join(b.message for b in check.blockers)},
                code="release_blocked",
            )
        permission_check(
            user,
            "planning.override_release",
            _("Releasing over a blocking reason needs the override permission."),
        )
        reason = reason_code_get(override_reason_code)
        if not (override_note or "").strip():
            raise ValidationFailed(_("Say why the work order goes anyway."), field="override_note")
        overridden = [b.message for b in check.blockers]
        comment = _("Released over: %(reasons)s — %(note)s") % {
            "reasons": " ".join(overridden),
            "note": override_note.strip(),
        }
    with transaction.atomic():
        _release_rules_apply(work_order, check)
        released = transition_run(
            instance=work_order,
            transition="release",
            user=user,
            reason_code=reason,
            comment=comment,
            event_type="workorder.released",
            payload={"number": work_order.number, "overridden": overridden},
        )
        first = released.operations.filter(is_rework=False).order_by("sequence").first()
        if first is not None:
            Operation.objects.filter(pk=first.pk).update(quantity_available=released.quantity)
            transition_run(
                instance=first, transition="make_ready", user=user, check_permission=False
            )
    return released


def _shortages_at_release_report(work_order: WorkOrder, check: ReleaseCheck, user: Any) -> None:
    """A release refused for missing material says so to the engine (its rules raise the
    shortage to the planner), committed although the release itself is refused."""
    with transaction.atomic():
        for blocker in check.blockers:
            if blocker.code != "material_short":
                continue
            event_emit(
                type="material.shortage",
                subject=work_order,
                payload={
                    "item": blocker.item,
                    "missing_quantity": float(blocker.missing or 0),
                    "demand": work_order.number,
                    "demand_type": "work_order",
                    "at_release": True,
                },
                actor=user,
            )


def _release_rules_apply(work_order: WorkOrder, check: ReleaseCheck) -> None:
    """Release rules that raise exceptions, create tasks or set priority act now."""
    from exceptions.engine import decision_check

    line = work_order.sales_order_line
    decision_check(
        point="release",
        subject=line.order if line is not None else None,
        extra={
            "work_order": {
                "number": work_order.number,
                "item": work_order.item.sku,
                "quantity": float(work_order.quantity),
            },
            "material_short": any(b.code == "material_short" for b in check.blockers),
            "kit_staged": not any(
                b.code in {"material_short", "kit_not_staged"} for b in check.blockers
            ),
            "quality_hold": any(b.code == "quality_hold" for b in check.blockers),
        },
    )


def work_order_transition(
    *,
    work_order: WorkOrder,
    user: Any,
    transition: str,
    reason_code: ReasonCode | str | None = None,
    comment: str = "",
) -> WorkOrder:
    """Hold, release a hold, take back to planned, cancel or close a work order."""
    meta = getattr(getattr(WorkOrder, transition, None), "_django_fsm", None)
    if meta is not None and any(t.custom.get("internal") for t in meta.transitions.values()):
        raise NotPermitted(
            _("%(action)s happens only through its own step (release, the shop floor).")
            % {"action": transition.replace("_", " ").capitalize()}
        )
    if transition in {"hold", "cancel", "unrelease"}:
        reason_code = reason_code_get(reason_code)
        if not comment.strip():
            raise ValidationFailed(_("Say why in a few words."), field="comment")
    with transaction.atomic():
        changed = transition_run(
            instance=work_order,
            transition=transition,
            user=user,
            reason_code=reason_code,
            comment=comment.strip(),
            event_type="workorder.status_changed",
            payload={"number": work_order.number},
        )
        if transition == "cancel":
            from inventory.services.reservations import reservations_release_for_demand

            Operation.objects.filter(work_order=changed, state__in=OPEN_OPERATION_STATES).update(
                state=OperationState.CANCELLED
            )
            reservations_release_for_demand(
                demand_type="work_order", demand_id=changed.pk, actor=user
            )
    return changed


# --- priority ---------------------------------------------------------------------------


def work_order_expedite(
    *, work_order: WorkOrder, user: Any, expedite: bool, reason_code: Any, reason_text: str
) -> WorkOrder:
    """The governed expedite flag: who, when and why are kept; the KPIs count it."""
    with transaction.atomic():
        governed_field_change(
            instance=work_order,
            field="expedite",
            new_value=expedite,
            user=user,
            reason_code=reason_code,
            reason_text=reason_text,
        )
        work_order.refresh_from_db()
        priority_refresh(work_order=work_order)
    return work_order


CLASS_POINTS = {"A": 20, "B": 10, "C": 0}


def priority_compute(
    *, work_order: WorkOrder, today: dt.date | None = None
) -> tuple[Decimal, list[str]]:
    """The score (higher runs first) and the sentences that explain it."""
    from exceptions.engine import matching_rules, rules_for
    from exceptions.models import DecisionRule

    today = today or timezone.localdate()
    score = Decimal("0")
    why: list[str] = []
    if work_order.due_date is not None:
        slack = (work_order.due_date - today).days
        points = max(0, 40 - 4 * max(slack, 0))
        score += points
        if slack < 0:
            why.append(_("promise date passed %(days)s days ago") % {"days": -slack})
        elif slack == 0:
            why.append(_("promise date today: must ship today"))
            score += 15
        else:
            why.append(_("promise date in %(days)s days") % {"days": slack})
    else:
        why.append(_("no promise date (make to stock)"))
    line = work_order.sales_order_line
    customer_class = ""
    if line is not None:
        customer_class = line.order.customer.priority_class
        score += CLASS_POINTS.get(customer_class, 0)
        why.append(_("customer class %(cls)s") % {"cls": customer_class})
    if work_order.expedite:
        score += 30
        change = (
            FieldChange.objects.filter(
                content_type__app_label="planning",
                content_type__model="workorder",
                object_id=work_order.pk,
                field="expedite",
            )
            .select_related("actor", "reason_code")
            .order_by("-at")
            .first()
        )
        if change is not None:
            who = change.actor.get_full_name() or change.actor.username if change.actor else "?"
            why.append(_("expedited by %(who)s: %(why)s") % {"who": who, "why": change.reason_text})
        else:
            why.append(_("expedited"))
    rules = rules_for("priority")
    if rules:
        context = {
            "work_order": {
                "number": work_order.number,
                "item": work_order.item.sku,
                "quantity": float(work_order.quantity),
                "days_to_promise": (work_order.due_date - today).days
                if work_order.due_date
                else None,
                "expedite": work_order.expedite,
                "customer_class": customer_class,
            }
        }
        for rule in matching_rules(rules, context, record_errors=False):
            if rule.effect == DecisionRule.Effect.BUMP_PRIORITY:
                bump = Decimal(rule.priority_value or 10)
                score += bump
                why.append(_("rule “%(rule)s” +%(points)s") % {"rule": rule.name, "points": bump})
            elif rule.effect == DecisionRule.Effect.SET_PRIORITY and rule.priority_value:
                score = Decimal(rule.priority_value)
                why.append(
                    _("rule “%(rule)s” sets %(points)s") % {"rule": rule.name, "points": score}
                )
    return score, why


def priority_refresh(*, work_order: WorkOrder, today: dt.date | None = None) -> WorkOrder:
    score, why = priority_compute(work_order=work_order, today=today)
    WorkOrder.objects.filter(pk=work_order.pk).update(
        priority_score=score, priority_explanation=why
    )
    work_order.priority_score, work_order.priority_explanation = score, why
    return work_order


def priorities_refresh(*, today: dt.date | None = None) -> int:
    """Re-score every open work order (a beat task runs this each morning)."""
    count = 0
    for work_order in WorkOrder.objects.filter(
        state__in=[W.PLANNED, W.RELEASED, W.IN_PROGRESS, W.ON_HOLD]
    ).select_related("item", "sales_order_line__order__customer"):
        priority_refresh(work_order=work_order, today=today)
        count += 1
    return count
