"""Pages for exceptions and tasks: the exception board, an exception's page, "My tasks".

Thin views: parse a form, call one service (exceptions.services), render. A DomainError
comes back as a message (or next to its field); the buttons come from the state machine,
so the page never offers what the server would refuse. The board's table refreshes
itself every 5 s through HTMX; actions posted from it with the HX-Request header get the
refreshed table back, with the outcome in it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes.core.errors import DomainError, IllegalTransition, ValidationFailed
from mes.core.forms import add_service_errors
from mes.core.selectors import history_for
from mes.core.transitions import available_transitions, transitions_from_state
from mes.core.views import is_partial, role_required, safe_next_url

from . import selectors, services
from .forms_pages import BoardFilterForm, CommentForm, ResolveForm, resolution_code_choices
from .models import ExceptionState, PlantException, Task, TaskState

VIEW_EXCEPTIONS = "exceptions.view_plantexception"
WORK_EXCEPTIONS = "exceptions.work_plantexception"
VIEW_TASKS = "exceptions.view_task"
WORK_TASKS = "exceptions.work_task"
PAGE_SIZE = 50
# Actions a page may post, in the order their buttons show.
EXCEPTION_ACTIONS = ["acknowledge", "start", "assign", "resolve", "reopen"]
TASK_ACTIONS = ["start", "complete", "cancel"]
SEVERITY_BADGES = {
    "critical": "text-bg-danger",
    "high": "text-bg-warning",
    "medium": "text-bg-info",
    "low": "text-bg-secondary",
}


def sla_text(minutes: int | None) -> str:
    """Minutes left as "1 h 05 min" / "-12 min"; "" without an SLA."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours:
        return f"{sign}{hours} h {rest:02d} min"
    return f"{sign}{rest} min"


def _minutes_left(due: Any, now: Any) -> int | None:
    if due is None:
        return None
    return int((due - now).total_seconds() / 60)  # toward zero: 5 min 10 s late is "-5"


def _exception_transitions(exc: PlantException, user: Any) -> list[str]:
    """acknowledge / start as the state machine offers them to this user."""
    offered = {t.name for t in available_transitions(exc, user)}
    return [name for name in ("acknowledge", "start") if name in offered]


def _action_label(name: str) -> str:
    return {
        "acknowledge": _("Acknowledge"),
        "start": _("Start"),
        "assign": _("Assign to me"),
        "resolve": _("Resolve"),
        "reopen": _("Reopen"),
        "complete": _("Done"),
        "cancel": _("Cancel"),
    }.get(name, name)


# --- board -------------------------------------------------------------------------------


def _exception_row(
    exc: PlantException,
    *,
    user: Any,
    may_work: bool,
    links: dict[tuple[int, int], str],
    now: Any,
    resolve_form: ResolveForm | None,
) -> dict[str, Any]:
    minutes = _minutes_left(exc.sla_due_at, now)
    return {
        "exc": exc,
        "subject_url": links.get((exc.content_type_id or 0, exc.object_id or 0), ""),
        "severity_badge": SEVERITY_BADGES.get(exc.severity, "text-bg-secondary"),
        "sla_minutes": minutes,
        "sla_text": sla_text(minutes),
        "overdue": minutes is not None and minutes < 0,
        "transitions": _exception_transitions(exc, user) if may_work else [],
        "may_assign": may_work and exc.assignee_id != user.pk,
        "may_resolve": may_work,
        "resolve_form": resolve_form,
    }


def _board_context(
    request: HttpRequest, data: QueryDict | None, bound: dict[int, ResolveForm] | None = None
) -> dict[str, Any]:
    user = request.user
    form = BoardFilterForm(
        data or None,
        roles=selectors.board_roles(),
        decision_points=selectors.board_decision_points(),
    )
    filters = form.filters()
    page = Paginator(selectors.exceptions_board(user=user, **filters), PAGE_SIZE).get_page(
        (data or {}).get("page")
    )
    items = list(page.object_list)
    links = selectors.subject_links(items)
    may_work = user.has_perm(WORK_EXCEPTIONS)
    now = timezone.now()
    bound = bound or {}
    return {
        "filter_form": form,
        "filters": filters,
        "page_obj": page,
        "rows": [
            _exception_row(
                exc,
                user=user,
                may_work=may_work,
                links=links,
                now=now,
                resolve_form=bound.get(exc.pk),
            )
            for exc in items
        ],
        "resolution_codes": resolution_code_choices() if may_work else [],
        "may_work": may_work,
    }


def _render_board(
    request: HttpRequest,
    data: QueryDict | None,
    *,
    partial: bool,
    bound: dict[int, ResolveForm] | None = None,
) -> HttpResponse:
    context = _board_context(request, data, bound)
    template = "exceptions/_board_table.html" if partial else "exceptions/board.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@role_required(VIEW_EXCEPTIONS)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Unresolved exceptions by severity and SLA left; filters by role, type, severity,
    state (default: the user's own roles)."""
    return _render_board(request, request.GET, partial=is_partial(request))


@role_required(VIEW_EXCEPTIONS)
@require_GET
def detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render_detail(request, _exception_or_404(number))


def _exception_or_404(number: str) -> PlantException:
    exc = selectors.exception_by_number(number=number)
    if exc is None:
        raise Http404
    return exc


def _render_detail(
    request: HttpRequest,
    exc: PlantException,
    resolve_form: ResolveForm | None = None,
    reopen_form: CommentForm | None = None,
) -> HttpResponse:
    user = request.user
    may_work = user.has_perm(WORK_EXCEPTIONS) and exc.state != ExceptionState.RESOLVED
    offered = {t.name: t for t in available_transitions(exc, user)}
    codes = resolution_code_choices() if may_work else []
    history = history_for([exc])["transitions"]
    tasks = list(exc.tasks.all())
    context = {
        "exc": exc,
        "subject_url": selectors.subject_link(exc),
        "severity_badge": SEVERITY_BADGES.get(exc.severity, "text-bg-secondary"),
        "sla_text": sla_text(_minutes_left(exc.sla_due_at, timezone.now()))
        if exc.state != ExceptionState.RESOLVED
        else "",
        "overdue": exc.state != ExceptionState.RESOLVED
        and exc.sla_due_at is not None
        and exc.sla_due_at < timezone.now(),
        "events": list(exc.events.all()),
        "tasks": tasks,
        "history": history,
        "transitions": [
            {"name": t.name, "label": t.custom.get("label", t.name)}
            for t in offered.values()
            if t.name in {"acknowledge", "start"}
        ],
        # A resolved exception whose resolution did not hold: reopened with a reason.
        "may_reopen": "reopen" in offered,
        "reopen_form": reopen_form or CommentForm(auto_id="reopen_%s"),
        "reopen_open": reopen_form is not None,
        "may_work": may_work,
        "may_assign": may_work and exc.assignee_id != user.pk,
        "resolve_form": resolve_form or ResolveForm(code_choices=codes, auto_id="resolve_%s"),
        "resolve_open": resolve_form is not None,
    }
    return render(request, "exceptions/detail.html", context)


def _illegal_message(exc: PlantException, action: str, user: Any) -> str:
    """Name the action and what this user may do instead from the current state."""
    fresh = PlantException.objects.get(pk=exc.pk)
    allowed = [
        t.name
        for t in transitions_from_state(fresh)
        if not t.custom.get("internal") and t.has_perm(fresh, user)
    ]
    labels = [_action_label(name) for name in EXCEPTION_ACTIONS if name in allowed]
    return _(
        "%(action)s is not possible while %(number)s is %(state)s. Allowed now: %(allowed)s."
    ) % {
        "action": _action_label(action),
        "number": fresh.number,
        "state": ExceptionState(fresh.state).label.lower(),
        "allowed": ", ".join(labels) or _("nothing"),
    }


@role_required(VIEW_EXCEPTIONS, WORK_EXCEPTIONS)
@require_POST
def exception_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """acknowledge / start / assign (to me) / resolve / reopen, from the board or the
    detail page."""
    if action not in EXCEPTION_ACTIONS:
        raise Http404
    exc = get_object_or_404(PlantException, number=number)
    user = request.user
    partial = is_partial(request)
    form = (
        ResolveForm(
            request.POST, code_choices=resolution_code_choices(), auto_id=f"resolve{exc.pk}_%s"
        )
        if action == "resolve"
        else None
    )
    reopen_form = CommentForm(request.POST, auto_id="reopen_%s") if action == "reopen" else None
    try:
        if action == "acknowledge":
            done = services.exception_acknowledge(exception=exc, user=user)
        elif action == "start":
            done = services.exception_start(exception=exc, user=user)
        elif action == "assign":
            done = services.exception_assign(exception=exc, user=user, assignee=user)
        elif action == "reopen":
            assert reopen_form is not None  # noqa: S101 - set above for reopen
            reopen_form.is_valid()
            done = services.exception_reopen(
                exception=exc, actor=user, reason=reopen_form.cleaned_data.get("comment", "")
            )
        else:
            assert form is not None  # noqa: S101 - set above for resolve
            form.is_valid()
            done = services.exception_resolve(
                exception=exc,
                user=user,
                resolution_code=form.cleaned_data.get("resolution_code", ""),
                note=form.cleaned_data.get("note", ""),
            )
    except IllegalTransition:
        messages.error(request, _illegal_message(exc, action, user))
    except ValidationFailed as err:
        messages.error(request, err.message)
        if reopen_form is not None and not partial:
            add_service_errors(reopen_form, err)
            return _render_detail(request, _exception_or_404(number), reopen_form=reopen_form)
        if form is not None:
            add_service_errors(form, err)
            if partial:
                return _render_board(request, request.POST, partial=True, bound={exc.pk: form})
            return _render_detail(request, _exception_or_404(number), resolve_form=form)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        if action == "assign":
            text = _("%(number)s is assigned to you.")
        else:
            text = _("%(number)s: %(action)s done; it is now %(state)s.")
        messages.success(
            request,
            text
            % {
                "number": done.number,
                "action": _action_label(action).lower(),
                "state": ExceptionState(done.state).label.lower(),
            },
        )
    if partial:
        return _render_board(request, request.POST, partial=True)
    return redirect(safe_next_url(request, reverse("exceptions:detail", args=[exc.number])))


# --- tasks -------------------------------------------------------------------------------


def _task_row(
    task: Task,
    *,
    links: dict[tuple[int, int], str],
    now: Any,
    may_work: bool,
    cancel_form: CommentForm | None,
) -> dict[str, Any]:
    minutes = _minutes_left(task.due_at, now)
    return {
        "task": task,
        "subject_url": links.get((task.content_type_id or 0, task.object_id or 0), ""),
        "due_text": sla_text(minutes),
        "overdue": minutes is not None and minutes < 0,
        "checklist": [
            {"index": i, "text": item.get("text", ""), "done": bool(item.get("done"))}
            for i, item in enumerate(task.checklist)
        ],
        "inputs": [
            {"index": i, "name": item.get("name", ""), "value": item.get("value", "")}
            for i, item in enumerate(task.required_inputs)
        ],
        "may_start": may_work and task.state == TaskState.OPEN,
        "may_work": may_work,
        "cancel_form": cancel_form or CommentForm(auto_id=f"cancel{task.pk}_%s"),
        "cancel_open": cancel_form is not None,
    }


def _render_tasks(
    request: HttpRequest, bound: dict[int, CommentForm] | None = None
) -> HttpResponse:
    tasks = list(selectors.tasks_for_user(user=request.user))
    links = selectors.subject_links(tasks)
    now = timezone.now()
    may_work = request.user.has_perm(WORK_TASKS)
    bound = bound or {}
    rows = [
        _task_row(t, links=links, now=now, may_work=may_work, cancel_form=bound.get(t.pk))
        for t in tasks
    ]
    return render(request, "exceptions/tasks.html", {"rows": rows, "may_work": may_work})


@role_required(VIEW_TASKS)
@require_GET
def tasks(request: HttpRequest) -> HttpResponse:
    """Open and in-progress tasks for the user and the user's roles, with checklists."""
    return _render_tasks(request)


def _task_or_404(number: str) -> Task:
    return get_object_or_404(Task, number=number)


def _posted_progress(request: HttpRequest, task: Task) -> tuple[list[int], dict[str, str]]:
    """The ticked checklist items (by index) and the inputs (field input-<index>)."""
    checked = [int(v) for v in request.POST.getlist("checked") if v.isdigit()]
    inputs = {
        item["name"]: request.POST.get(f"input-{i}", "")
        for i, item in enumerate(task.required_inputs)
        if f"input-{i}" in request.POST
    }
    return checked, inputs


@role_required(VIEW_TASKS, WORK_TASKS)
@require_POST
def task_save(request: HttpRequest, number: str) -> HttpResponse:
    task = _task_or_404(number)
    checked, inputs = _posted_progress(request, task)
    try:
        services.task_update(task=task, user=request.user, checked=checked, inputs=inputs)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("%(number)s saved.") % {"number": task.number})
    return redirect(reverse("exceptions:tasks") + f"#task-{task.number}")


@role_required(VIEW_TASKS, WORK_TASKS)
@require_POST
def task_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """start / complete / cancel. "Done" posted from the checklist form saves the
    checklist first, then completes (refused while anything is missing)."""
    if action not in TASK_ACTIONS:
        raise Http404
    task = _task_or_404(number)
    user = request.user
    form = CommentForm(request.POST, auto_id=f"cancel{task.pk}_%s")
    form.is_valid()
    try:
        if action == "complete" and request.POST.get("with_progress"):
            checked, inputs = _posted_progress(request, task)
            task = services.task_update(task=task, user=user, checked=checked, inputs=inputs)
        done = services.task_transition(
            task=task, user=user, transition=action, comment=form.cleaned_data.get("comment", "")
        )
    except ValidationFailed as err:
        if action == "cancel":
            add_service_errors(form, err)
            return _render_tasks(request, bound={task.pk: form})
        messages.error(request, err.message)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(
            request,
            _("%(number)s: %(action)s done; it is now %(state)s.")
            % {
                "number": done.number,
                "action": _action_label(action).lower(),
                "state": TaskState(done.state).label.lower(),
            },
        )
    if action == "complete" or action == "cancel":
        return redirect(reverse("exceptions:tasks"))
    return redirect(reverse("exceptions:tasks") + f"#task-{task.number}")
