"""Planning pages: the planner's work orders, release board, schedule, Gantt and load
charts; the floor lead's tablet with the dispatch list of one work center.

Thin views: a form parses the input, one service call does the work, the page shows the
outcome. A refusal comes back on the screen next to the field it concerns (or as a
message) and nothing changes. On the tablet a floor lead signs in to a work center once
(kept in the session); every action then names its operator by a badge scan or a PIN,
and the tablet locks itself after a few idle minutes (back to the badge prompt; the work
center sign-in stays).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from mes.core.errors import DomainError, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.formatting import quantity_text
from mes.core.forms import add_service_errors, reason_code_choices
from mes.core.selectors import history_for
from mes.core.transitions import available_transitions
from mes.core.views import any_permission_required, render_maybe_partial, role_required

from . import selectors, services
from .forms import (
    BringUpForm,
    DowntimeForm,
    ExpediteForm,
    GanttForm,
    OperatorForm,
    OverrideForm,
    PauseForm,
    ReasonForm,
    ReportForm,
    StartForm,
    UnlockForm,
    WorkOrderCreateForm,
    WorkOrderFilterForm,
)
from .models import (
    Downtime,
    Operation,
    OperationState,
    W,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)

PAGE_SIZE = 50
VIEW_WO = "planning.view_workorder"
PLAN = "planning.plan_workorder"
RELEASE = "planning.release_workorder"
OVERRIDE = "planning.override_release"
EXPEDITE = "planning.expedite_workorder"
VIEW_SCHEDULE = "planning.view_schedulerun"
VIEW_OPS = "planning.view_operation"
RUN = "planning.run_operation"
DOWNTIME = "planning.report_downtime"
# Transitions the work-order page posts, in the order its buttons show.
PAGE_TRANSITIONS = ["release_hold", "close", "unrelease", "hold", "cancel"]
REASON_TRANSITIONS = frozenset({"hold", "cancel", "unrelease"})
TRANSITION_STYLES = {
    "release_hold": "btn-success",
    "close": "btn-outline-secondary",
    "unrelease": "btn-outline-secondary",
    "hold": "btn-warning",
    "cancel": "btn-outline-danger",
}
O = OperationState  # noqa: E741

ViewFunction = Callable[..., HttpResponse]


def _errors_to_form(form: Any, exc: DomainError, rename: dict[str, str] | None = None) -> None:
    """Service field errors next to the form's fields (renamed where the form names them
    differently), the rest on top of the form."""
    rename = rename or {}
    if exc.errors:
        exc.errors = {rename.get(k, k): v for k, v in exc.errors.items()}
    add_service_errors(form, exc)


# --- work orders: list, create, from a sales order -----------------------------------------


def _work_orders(filters: dict[str, str]) -> QuerySet[WorkOrder]:
    rows = WorkOrder.objects.select_related("item", "sales_order_line__order").order_by(
        "-priority_score", F("due_date").asc(nulls_last=True), "id"
    )
    if filters["state"] == WorkOrderFilterForm.OPEN:
        rows = rows.filter(state__in=[W.PLANNED, W.RELEASED, W.IN_PROGRESS, W.ON_HOLD])
    elif filters["state"] != WorkOrderFilterForm.ALL:
        rows = rows.filter(state=filters["state"])
    if filters["work_center"]:
        rows = rows.filter(
            pk__in=Operation.objects.filter(work_center__code=filters["work_center"]).values(
                "work_order_id"
            )
        )
    if filters["item"]:
        term = filters["item"]
        rows = rows.filter(Q(item__sku__icontains=term) | Q(number__iexact=term))
    return rows


@role_required(VIEW_WO)
@require_GET
def work_order_list(request: HttpRequest) -> HttpResponse:
    """Work orders by priority; filters by state, work center and item."""
    form = WorkOrderFilterForm(
        request.GET or None, work_centers=list(selectors.work_centers_active())
    )
    filters = form.filters()
    page = Paginator(_work_orders(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "work_orders": page.object_list,
        "is_filtered": any(filters.values()),
        "today": timezone.localdate(),
    }
    return render_maybe_partial(
        request, "planning/work_orders.html", "planning/_work_orders_table.html", context
    )


@role_required(VIEW_WO, PLAN)
def work_order_create(request: HttpRequest) -> HttpResponse:
    """A make-to-stock work order by hand."""
    form = WorkOrderCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            wo = services.work_order_create(
                item=data["item"],
                quantity=data["quantity"],
                due_date=data["due_date"],
                notes=data["notes"],
                user=request.user,
            )
        except DomainError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(wo)s planned: %(qty)s × %(sku)s.")
                % {"wo": wo.number, "qty": quantity_text(wo.quantity), "sku": wo.item.sku},
            )
            return redirect("planning:work_order", wo.number)
    return render(request, "planning/work_order_form.html", {"form": form})


@role_required(PLAN)
@require_POST
def work_orders_from_order(request: HttpRequest, number: str) -> HttpResponse:
    """Make-to-order: one work order per confirmed line of a made item that has none."""
    from orders.selectors import order_by_number

    order = order_by_number(number=number)
    if order is None:
        raise Http404
    try:
        made = services.work_orders_for_sales_order(order=order, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if made:
            messages.success(
                request,
                _("Work orders made for %(order)s: %(numbers)s.")
                % {"order": order.number, "numbers": ", ".join(wo.number for wo in made)},
            )
        else:
            messages.info(
                request,
                _("%(order)s needs no new work orders: its made lines have them already.")
                % {"order": order.number},
            )
    return redirect("orders:detail", order.number)


# --- work order detail and its actions ------------------------------------------------------


def _work_order_or_404(number: str) -> WorkOrder:
    pk = WorkOrder.objects.filter(number=number).values_list("pk", flat=True).first()
    wo = selectors.work_order_detail(pk=pk) if pk else None
    if wo is None:
        raise Http404
    return wo


def _transition_label(name: str) -> str:
    meta = getattr(getattr(WorkOrder, name, None), "_django_fsm", None)
    if meta is not None:
        for t in meta.transitions.values():
            if t.custom.get("label"):
                return str(t.custom["label"])
    return name.replace("_", " ").capitalize()


def _history(wo: WorkOrder, operations: list[Operation]) -> list[dict[str, Any]]:
    history = history_for([wo, *operations])
    entries = []
    for t in history["transitions"]:
        record = wo.number if t.content_type.model == "workorder" else t.object_repr
        entries.append(
            {
                "at": t.at,
                "kind": "transition",
                "title": f"{record}: {t.from_state} → {t.to_state}",
                "detail": " ".join(
                    x for x in [t.comment, f"({t.reason_code.label})" if t.reason_code else ""] if x
                ),
                "actor": t.actor,
            }
        )
    for c in history["changes"]:
        entries.append(
            {
                "at": c.at,
                "kind": "change",
                "title": f"{wo.number}: {c.field} {c.old_value} → {c.new_value}",
                "detail": f"{c.reason_code.label}: {c.reason_text}" if c.reason_code else "",
                "actor": c.actor,
            }
        )
    return sorted(entries, key=lambda e: e["at"], reverse=True)


def _render_work_order(
    request: HttpRequest, wo: WorkOrder, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The work order page; `bound` holds a submitted form that failed, by its panel."""
    from inventory.models import Kit

    bound = bound or {}
    user = request.user
    reasons = reason_code_choices()
    operations = list(wo.operations.all())
    check = services.release_check(work_order=wo) if wo.state == W.PLANNED else None
    transitions = []
    for t in available_transitions(wo, user):
        if t.name not in PAGE_TRANSITIONS:
            continue
        transitions.append(
            {
                "name": t.name,
                "label": _transition_label(t.name),
                "style": TRANSITION_STYLES.get(t.name, "btn-outline-primary"),
                "dom_id": t.name.replace("_", "-"),
                "form": (
                    bound.get(t.name) or ReasonForm(reason_choices=reasons, auto_id=f"{t.name}_%s")
                )
                if t.name in REASON_TRANSITIONS
                else None,
            }
        )
    transitions.sort(key=lambda t: PAGE_TRANSITIONS.index(t["name"]))
    may_release = wo.state == W.PLANNED and user.has_perm(RELEASE)
    may_override = may_release and user.has_perm(OVERRIDE) and check and check.blockers
    kit = Kit.objects.filter(work_order_id=wo.pk).exclude(state=Kit.State.CANCELLED).first()
    context = {
        "wo": wo,
        "operations": operations,
        "check": check,
        "transitions": transitions,
        "may_release": may_release,
        "override_form": (
            bound.get("override") or OverrideForm(reason_choices=reasons, auto_id="override_%s")
        )
        if may_override
        else None,
        "expedite_form": (
            bound.get("expedite") or ExpediteForm(reason_choices=reasons, auto_id="expedite_%s")
        )
        if user.has_perm(EXPEDITE) and wo.state in {W.PLANNED, W.RELEASED, W.IN_PROGRESS, W.ON_HOLD}
        else None,
        "open_panel": next(iter(bound), "") or request.GET.get("open", ""),
        "kit": kit,
        "history": _history(wo, operations),
        "late": bool(
            wo.due_date and wo.scheduled_end and timezone.localdate(wo.scheduled_end) > wo.due_date
        ),
    }
    return render(request, "planning/work_order.html", context, status=status)


@role_required(VIEW_WO)
@require_GET
def work_order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render_work_order(request, _work_order_or_404(number))


@role_required(VIEW_WO, RELEASE)
@require_POST
def work_order_release(request: HttpRequest, number: str) -> HttpResponse:
    """Release; with `override` posted, over the blocking reasons with a reason code."""
    wo = _work_order_or_404(number)
    override = request.POST.get("override") == "1"
    form = None
    kwargs: dict[str, Any] = {}
    if override:
        if not request.user.has_perm(OVERRIDE):
            raise PermissionDenied
        form = OverrideForm(
            request.POST, reason_choices=reason_code_choices(), auto_id="override_%s"
        )
        form.is_valid()
        kwargs = {
            "override_reason_code": form.cleaned_data.get("override_reason_code") or "",
            "override_note": form.cleaned_data.get("override_note") or "",
        }
        if not kwargs["override_reason_code"]:
            form.add_error("override_reason_code", _("Choose a reason code."))
            return _render_work_order(request, wo, {"override": form}, status=400)
    try:
        released = services.work_order_release(work_order=wo, user=request.user, **kwargs)
    except ValidationFailed as exc:
        if form is not None:
            _errors_to_form(form, exc, {"reason_code": "override_reason_code"})
            return _render_work_order(request, wo, {"override": form}, status=400)
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(wo)s released to the floor.") % {"wo": released.number}
            if not override
            else _("%(wo)s released over its blocking reasons; the override is recorded.")
            % {"wo": released.number},
        )
    if request.POST.get("next") == "board":
        return redirect("planning:release_board")
    return redirect("planning:work_order", wo.number)


@role_required(VIEW_WO)
@require_POST
def work_order_transition(request: HttpRequest, number: str, name: str) -> HttpResponse:
    wo = _work_order_or_404(number)
    if name not in PAGE_TRANSITIONS:
        raise Http404
    meta = getattr(getattr(WorkOrder, name, None), "_django_fsm", None)
    if meta is None or not any(t.has_perm(wo, request.user) for t in meta.transitions.values()):
        raise PermissionDenied
    form = ReasonForm(request.POST, reason_choices=reason_code_choices(), auto_id=f"{name}_%s")
    form.is_valid()
    try:
        done = services.work_order_transition(
            work_order=wo,
            user=request.user,
            transition=name,
            reason_code=form.cleaned_data.get("reason_code") or None,
            comment=form.cleaned_data.get("comment") or "",
        )
    except IllegalTransition as exc:
        allowed = [_transition_label(n) for n in PAGE_TRANSITIONS if n in exc.allowed]
        messages.error(
            request,
            _("%(action)s is not possible while %(wo)s is %(state)s. Allowed now: %(allowed)s.")
            % {
                "action": _transition_label(name),
                "wo": wo.number,
                "state": WorkOrderState(exc.current_state).label.lower(),
                "allowed": ", ".join(allowed) or _("nothing"),
            },
        )
    except ValidationFailed as exc:
        if name in REASON_TRANSITIONS:
            add_service_errors(form, exc)
            return _render_work_order(request, wo, {name: form}, status=400)
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(wo)s: %(action)s done; it is now %(state)s.")
            % {
                "wo": done.number,
                "action": _transition_label(name).lower(),
                "state": done.get_state_display().lower(),
            },
        )
    return redirect("planning:work_order", wo.number)


@role_required(VIEW_WO, EXPEDITE)
@require_POST
def work_order_expedite(request: HttpRequest, number: str) -> HttpResponse:
    """Toggle the governed expedite flag with a reason."""
    wo = _work_order_or_404(number)
    form = ExpediteForm(request.POST, reason_choices=reason_code_choices(), auto_id="expedite_%s")
    form.is_valid()
    try:
        changed = services.work_order_expedite(
            work_order=wo,
            user=request.user,
            expedite=not wo.expedite,
            reason_code=form.cleaned_data.get("reason_code") or None,
            reason_text=form.cleaned_data.get("reason_text") or "",
        )
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render_work_order(request, wo, {"expedite": form}, status=400)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            (_("%(wo)s is expedited.") if changed.expedite else _("%(wo)s is no longer expedited."))
            % {"wo": changed.number},
        )
    return redirect("planning:work_order", wo.number)


# --- the release board ----------------------------------------------------------------------


@role_required(VIEW_WO, RELEASE)
@require_GET
def release_board(request: HttpRequest) -> HttpResponse:
    """Every planned work order with all the reasons it cannot go now."""
    checks = selectors.release_board()
    context = {
        "checks": checks,
        "releasable": sum(1 for c in checks if c.releasable),
        "may_override": request.user.has_perm(OVERRIDE),
        "today": timezone.localdate(),
    }
    return render_maybe_partial(
        request, "planning/release_board.html", "planning/_release_board_table.html", context
    )


# --- schedule, Gantt, load ------------------------------------------------------------------


@role_required(VIEW_SCHEDULE)
@require_GET
def schedule(request: HttpRequest) -> HttpResponse:
    """The last schedule runs: what went in, the objective, the solver, what changed."""
    runs = list(selectors.schedule_runs(limit=15))
    context = {"runs": runs, "latest": runs[0] if runs else None}
    return render_maybe_partial(
        request, "planning/schedule.html", "planning/_schedule_runs.html", context
    )


@role_required(VIEW_SCHEDULE, PLAN)
@require_POST
def schedule_rerun(request: HttpRequest) -> HttpResponse:
    """Re-run now: in a worker, or right here when tasks run inline."""
    from .services.scheduling import schedule_run
    from .tasks import run_schedule

    trigger = _("on demand by %(who)s") % {
        "who": request.user.get_full_name() or request.user.get_username()
    }
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run = schedule_run(trigger=trigger, user=request.user)
        if run.status == run.Status.DONE:
            messages.success(
                request,
                _("Schedule re-run: %(n)s operations moved, solver %(status)s in %(s)s s.")
                % {
                    "n": run.changes.get("moved_operations", 0),
                    "status": run.solver_status,
                    "s": run.solve_seconds,
                },
            )
        else:
            messages.error(request, _("The schedule run failed: %(why)s") % {"why": run.error})
    else:
        run_schedule.delay(trigger=trigger, user_id=request.user.pk)
        messages.info(
            request, _("Schedule run requested: this page shows it when the worker is done.")
        )
    return redirect("planning:schedule")


def _window(days: int) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.localtime()
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    return start, start + dt.timedelta(days=days)


@role_required(VIEW_SCHEDULE)
@require_GET
def gantt(request: HttpRequest) -> HttpResponse:
    """The schedule as bars: per work center (lanes per machine) or per work order."""
    centers = list(selectors.work_centers_active())
    form = GanttForm(request.GET or None, work_centers=centers)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    days = data.get("days") or 2
    start, end = _window(days)
    work_center = (
        selectors.work_center_by_code(code=data["work_center"]) if data.get("work_center") else None
    )
    work_order = None
    number = request.GET.get("wo", "").strip()
    if number:
        work_order = WorkOrder.objects.select_related("item").filter(number=number).first()
        if work_order is None:
            raise Http404
        if work_order.scheduled_start and work_order.scheduled_end:
            start = min(start, timezone.localtime(work_order.scheduled_start)).replace(
                minute=0, second=0, microsecond=0
            )
            end = max(
                start + dt.timedelta(days=1), work_order.scheduled_end + dt.timedelta(hours=1)
            )
    bars = selectors.gantt(start=start, end=end, work_center=work_center, work_order=work_order)
    lanes_of = [work_center] if work_center else ([] if work_order else centers)
    context = {
        "form": form,
        "bars": bars,
        "start": start,
        "end": end,
        "work_center": work_center,
        "work_order": work_order,
        "centers": lanes_of,
    }
    return render(request, "planning/gantt.html", context)


@any_permission_required(VIEW_SCHEDULE, "orders.view_salesorder")
@require_GET
def load(request: HttpRequest) -> HttpResponse:
    """Scheduled load against calendar capacity per work center and day."""
    try:
        days = min(max(int(request.GET.get("days", 14)), 1), 60)
    except ValueError:
        days = 14
    rows = selectors.load_vs_capacity(days=days)
    context = {
        "rows": rows,
        "days": days,
        "day_list": [cell.day for cell in rows[0].cells] if rows else [],
    }
    return render(request, "planning/load.html", context)


# --- the tablet: session, lock --------------------------------------------------------------

TABLET_WC = "tablet_work_center"
TABLET_BY = "tablet_signed_in_by"
TABLET_SEEN = "tablet_last_activity"
TABLET_LOCKED = "tablet_locked"


def _idle_seconds() -> int:
    return int(settings.TABLET_IDLE_LOCK_MINUTES * 60)


def _tablet(request: HttpRequest) -> dict[str, Any] | None:
    """The tablet's sign-in, or None."""
    code = request.session.get(TABLET_WC)
    if not code:
        return None
    return {"code": code, "by": request.session.get(TABLET_BY, "")}


def _tablet_locked(request: HttpRequest, *, activity: bool = True) -> bool:
    """Locked once idle too long, until a badge unlocks it; `activity` marks a person at
    the tablet (a page or an action, not the list refreshing itself)."""
    session = request.session
    if session.get(TABLET_LOCKED):
        return True
    seen = session.get(TABLET_SEEN, 0)
    if seen and time.time() - seen > _idle_seconds():
        session[TABLET_LOCKED] = True
        return True
    if activity:
        session[TABLET_SEEN] = time.time()
    return False


def _tablet_here(request: HttpRequest, code: str) -> bool:
    tablet = _tablet(request)
    return bool(tablet and tablet["code"] == code)


def _work_center_or_404(code: str) -> WorkCenter:
    wc = selectors.work_center_by_code(code=code)
    if wc is None:
        raise Http404
    return wc


@role_required(VIEW_OPS)
@require_GET
def tablet(request: HttpRequest) -> HttpResponse:
    """The tablet's start: a floor lead signs it in to a work center; once signed in, it
    opens that work center's dispatch list."""
    signed = _tablet(request)
    if signed:
        return redirect("planning:dispatch", signed["code"])
    centers = list(selectors.work_centers_active())
    return render(
        request,
        "planning/tablet.html",
        {"centers": centers, "may_sign_in": request.user.has_perm(DOWNTIME)},
    )


@role_required(VIEW_OPS, DOWNTIME)
@require_POST
def tablet_sign_in(request: HttpRequest) -> HttpResponse:
    wc = selectors.work_center_by_code(code=request.POST.get("work_center", ""))
    if wc is None:
        messages.error(request, _("Choose a work center."))
        return redirect("planning:tablet")
    request.session[TABLET_WC] = wc.code
    request.session[TABLET_BY] = request.user.get_full_name() or request.user.get_username()
    request.session[TABLET_SEEN] = time.time()
    request.session[TABLET_LOCKED] = False
    messages.success(request, _("This tablet is signed in to %(wc)s.") % {"wc": wc.code})
    return redirect("planning:dispatch", wc.code)


@role_required(VIEW_OPS)
@require_POST
def tablet_sign_out(request: HttpRequest) -> HttpResponse:
    for key in (TABLET_WC, TABLET_BY, TABLET_SEEN, TABLET_LOCKED):
        request.session.pop(key, None)
    messages.info(request, _("The tablet is signed out of its work center."))
    return redirect("planning:tablet")


@role_required(VIEW_OPS)
@require_POST
def tablet_lock(request: HttpRequest) -> HttpResponse:
    request.session[TABLET_LOCKED] = True
    signed = _tablet(request)
    return redirect("planning:dispatch", signed["code"]) if signed else redirect("planning:tablet")


@role_required(VIEW_OPS)
@require_POST
def tablet_unlock(request: HttpRequest) -> HttpResponse:
    """A badge or PIN unlocks the tablet."""
    signed = _tablet(request)
    if not signed:
        return redirect("planning:tablet")
    form = UnlockForm(request.POST)
    form.is_valid()
    try:
        who = services.operator_identify(code=form.cleaned_data.get("operator", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.session[TABLET_LOCKED] = False
        request.session[TABLET_SEEN] = time.time()
        messages.success(
            request, _("Unlocked by %(who)s.") % {"who": who.get_full_name() or who.username}
        )
    return redirect("planning:dispatch", signed["code"])


# --- the tablet: dispatch list --------------------------------------------------------------


def _may_bring_up() -> list[Any]:
    """Active people whose role lets them report downtime and bring a work center up."""
    user_model = get_user_model()
    perm = Q(content_type__app_label="planning", codename="report_downtime")
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(perm)
    return list(
        user_model.objects.filter(is_active=True)
        .filter(Q(groups__permissions__in=perms) | Q(user_permissions__in=perms))
        .distinct()
        .order_by("last_name", "username")[:12]
    )


@role_required(VIEW_OPS)
@require_GET
def dispatch(request: HttpRequest, code: str) -> HttpResponse:
    """The dispatch list of one work center, in scheduled order, each row with why it is
    next; the list refreshes itself every few seconds. Actions show only on a tablet
    signed in here."""
    wc = _work_center_or_404(code)
    here = _tablet_here(request, wc.code)
    polling = bool(getattr(request, "htmx", None)) and request.GET.get("poll") == "1"
    locked = here and _tablet_locked(request, activity=not polling)
    if polling and locked:
        return HttpResponseClientRefresh()  # the page reloads into the badge prompt
    if locked:
        return render(
            request,
            "planning/tablet_locked.html",
            {"wc": wc, "form": UnlockForm(), "tablet": _tablet(request)},
        )
    rows = selectors.dispatch_list(work_center=wc)
    first = services.next_in_sequence(work_center=wc)
    downtime = (
        Downtime.objects.filter(work_center=wc, ended_at__isnull=True)
        .select_related("reason_code", "reported_by")
        .first()
        if wc.status == WorkCenter.Status.DOWN
        else None
    )
    context = {
        "wc": wc,
        "rows": rows,
        "first_id": first.pk if first else None,
        "here": here,
        "tablet": _tablet(request),
        "downtime": downtime,
        "may_bring_up": _may_bring_up() if downtime else [],
        "bring_up_form": BringUpForm(auto_id="bringup_%s") if downtime else None,
        "user_may_bring_up": request.user.has_perm(DOWNTIME),
        "idle_ms": _idle_seconds() * 1000,
    }
    return render_maybe_partial(
        request, "planning/dispatch.html", "planning/_dispatch_list.html", context
    )


def _tablet_guard(request: HttpRequest, code: str) -> HttpResponse | None:
    """Actions run only on a tablet signed in to this work center and unlocked."""
    if not _tablet_here(request, code):
        messages.error(
            request,
            _("This tablet is not signed in to %(wc)s: a floor lead signs it in first.")
            % {"wc": code},
        )
        return redirect("planning:tablet")
    if _tablet_locked(request):
        return redirect("planning:dispatch", code)
    return None


ACTIONS: dict[str, tuple[Any, Any]] = {
    "start": (StartForm, _("Start")),
    "pause": (PauseForm, _("Pause")),
    "resume": (OperatorForm, _("Resume")),
    "report": (ReportForm, _("Report quantities")),
    "clock_on": (OperatorForm, _("Clock on")),
    "clock_off": (OperatorForm, _("Clock off")),
}


def _run_action(
    action: str, op: Operation, operator: Any, wc: WorkCenter, data: dict[str, Any], post: Any
) -> str:
    """Call the service for one tablet action; the message to show on success."""
    if action == "start":
        started = services.operation_start(
            operation=op,
            operator=operator,
            at_work_center=wc,
            out_of_sequence_reason=data.get("out_of_sequence_reason", ""),
        )
        return _("%(op)s started by %(who)s.") % {"op": started, "who": _name(operator)}
    if action == "pause":
        services.operation_pause(
            operation=op,
            operator=operator,
            reason_code=data.get("reason_code") or None,  # type: ignore[arg-type]
            note=data.get("note", ""),
        )
        return _("%(op)s paused by %(who)s.") % {"op": op, "who": _name(operator)}
    if action == "resume":
        services.operation_resume(operation=op, operator=operator)
        return _("%(op)s resumed by %(who)s.") % {"op": op, "who": _name(operator)}
    if action == "clock_on":
        services.labour_clock_on(operation=op, operator=operator)
        return _("%(who)s clocked on %(op)s.") % {"op": op, "who": _name(operator)}
    if action == "clock_off":
        services.labour_clock_off(operation=op, operator=operator)
        return _("%(who)s clocked off %(op)s.") % {"op": op, "who": _name(operator)}
    outcome = services.operation_report(
        operation=op,
        operator=operator,
        good=data.get("good") or 0,
        scrap=data.get("scrap") or 0,
        rework=data.get("rework") or 0,
        scrap_reason=data.get("scrap_reason") or None,
        rework_reason=data.get("rework_reason") or None,
        note=data.get("note", ""),
        at_work_center=wc,
        finish=True if post.get("final") == "1" else None,
    )
    report = outcome.report
    text = _("%(who)s reported on %(op)s: %(good)s good, %(scrap)s scrap, %(rework)s rework.") % {
        "who": _name(operator),
        "op": outcome.operation,
        "good": quantity_text(report.quantity_good),
        "scrap": quantity_text(report.quantity_scrap),
        "rework": quantity_text(report.quantity_rework),
    }
    if outcome.work_order_completed:
        text += " " + _("%(wo)s is complete.") % {"wo": outcome.operation.work_order.number}
    elif outcome.finished:
        text += " " + _("The operation is done.")
    return text


@role_required(VIEW_OPS)
def operation_action(request: HttpRequest, code: str, pk: int, action: str) -> HttpResponse:
    """One tablet action on one operation: a page with its fields and the badge prompt."""
    if action not in ACTIONS:
        raise Http404
    guard = _tablet_guard(request, code)
    if guard is not None:
        return guard
    wc = _work_center_or_404(code)
    op = Operation.objects.select_related("work_order__item", "work_center").filter(pk=pk).first()
    if op is None:
        raise Http404
    form_class, title = ACTIONS[action]
    kwargs: dict[str, Any] = {"auto_id": "%s"}
    if form_class in (PauseForm, ReportForm):
        kwargs["reason_choices"] = reason_code_choices()
    form = form_class(request.POST or None, **kwargs)
    status = 200
    if request.method == "POST":
        form.is_valid()
        data = form.cleaned_data
        try:
            operator = services.operator_identify(code=data.get("operator", ""))
        except DomainError as exc:
            form.add_error("operator", exc.message)
            status = 400
        else:
            try:
                message = _run_action(action, op, operator, wc, data, request.POST)
            except DomainError as exc:
                add_service_errors(form, exc)
                status = 400
            else:
                messages.success(request, message)
                return redirect("planning:dispatch", wc.code)
    first = services.next_in_sequence(work_center=wc)
    context = {
        "wc": wc,
        "op": op,
        "action": action,
        "title": title,
        "form": form,
        "out_of_sequence": action == "start" and first is not None and first.pk != op.pk,
        "first": first,
        "tablet": _tablet(request),
        "idle_ms": _idle_seconds() * 1000,
    }
    return render(request, "planning/operation_action.html", context, status=status)


def _actor(request: HttpRequest, code: str) -> Any:
    """The badge's owner when one is scanned (on a tablet signed in here), else the
    signed-in user."""
    if not code:
        return request.user
    if not _tablet_here(request, request.resolver_match.kwargs["code"]):  # type: ignore[union-attr]
        raise NotPermitted(_("Badges are read only on a tablet signed in to this work center."))
    return services.operator_identify(code=code)


@role_required(VIEW_OPS)
def downtime_report(request: HttpRequest, code: str) -> HttpResponse:
    """Report the work center down: reason, note, when it is expected back."""
    wc = _work_center_or_404(code)
    if _tablet_here(request, wc.code) and _tablet_locked(request):
        return redirect("planning:dispatch", wc.code)
    form = DowntimeForm(
        request.POST or None, reason_choices=reason_code_choices(), auto_id="downtime_%s"
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actor = _actor(request, data.get("operator", ""))
                services.downtime_report(
                    work_center=wc,
                    user=actor,
                    reason_code=data.get("reason_code") or None,  # type: ignore[arg-type]
                    note=data.get("note", ""),
                    expected_end=data.get("expected_end"),
                )
            except DomainError as exc:
                add_service_errors(form, exc)
            else:
                messages.warning(
                    request,
                    _("%(wc)s is down, reported by %(who)s; the schedule is re-run around it.")
                    % {"wc": wc.code, "who": _name(actor)},
                )
                return redirect("planning:dispatch", wc.code)
        status = 400
    return render(
        request,
        "planning/downtime.html",
        {"wc": wc, "form": form, "tablet": _tablet(request), "idle_ms": _idle_seconds() * 1000},
        status=status,
    )


@role_required(VIEW_OPS)
@require_POST
def bring_up(request: HttpRequest, code: str) -> HttpResponse:
    """One step: the open downtime closes and the work center runs again."""
    wc = _work_center_or_404(code)
    if _tablet_here(request, wc.code) and _tablet_locked(request):
        return redirect("planning:dispatch", wc.code)
    form = BringUpForm(request.POST, auto_id="bringup_%s")
    form.is_valid()
    try:
        actor = _actor(request, form.cleaned_data.get("operator", ""))
        services.work_center_bring_up(
            work_center=wc, user=actor, note=form.cleaned_data.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(wc)s is up again (%(who)s).") % {"wc": wc.code, "who": _name(actor)}
        )
    return redirect("planning:dispatch", wc.code)


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()
