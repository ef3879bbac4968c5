"""Planner pages for orders: thin views that parse a form, call one service and render.

Business rules live in `orders.services`; a `DomainError` comes back as a message next
to the field (ValidationFailed) or as an error message on the order's page. Signed-in
users whose role lacks the permission get the 403 page; the buttons a page shows come
from `available_transitions`, so the page never offers what the server would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes.core.errors import DomainError, IllegalTransition, ValidationFailed
from mes.core.forms import add_service_errors, reason_code_choices
from mes.core.transitions import available_transitions
from mes.core.views import render_maybe_partial, role_required, safe_next_url

from . import selectors, services
from .forms import (
    ChangeRequestFilterForm,
    ChangeRequestForm,
    DecisionForm,
    OrderFilterForm,
    OrderForm,
    OrderLineFormSet,
    PriorityForm,
    PromiseDateForm,
    TransitionReasonForm,
    add_order_errors,
    item_choices,
    order_form_initial,
)
from .models import COMMITTED_OPEN_STATES, ChangeRequest, OrderState, SalesOrder, ShipToAddress

PAGE_SIZE = 25
VIEW_ORDERS = "orders.view_salesorder"
VIEW_CHANGES = "orders.view_changerequest"
APPROVE_CHANGE = "orders.approve_change"
REQUEST_CHANGE = "orders.request_change"
# Transitions a page may post; the rest (shipping, approved cancellations) run only from
# services.
# In the order the buttons show: forward through the flow, then hold, then cancel.
PAGE_TRANSITION_ORDER = [
    "confirm",
    "start_production",
    "mark_ready",
    "close",
    "release_hold",
    "hold",
    "cancel",
]
PAGE_TRANSITIONS = frozenset(PAGE_TRANSITION_ORDER)
REASON_TRANSITIONS = frozenset({"hold", "cancel"})
TRANSITION_STYLES = {
    "confirm": "btn-primary",
    "start_production": "btn-primary",
    "mark_ready": "btn-primary",
    "close": "btn-outline-secondary",
    "release_hold": "btn-success",
    "hold": "btn-warning",
    "cancel": "btn-outline-danger",
}


def _order_or_404(number: str) -> SalesOrder:
    order = selectors.order_by_number(number=number)
    if order is None:
        raise Http404
    return order


def _detail_url(order: SalesOrder, anchor: str = "") -> str:
    url = reverse("orders:detail", args=[order.number])
    return f"{url}#{anchor}" if anchor else url


def _transition_label(name: str) -> str:
    """The button label of a transition, e.g. "start_production" -> "Start production"."""
    method = getattr(SalesOrder, name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is not None:
        for t in meta.transitions.values():
            if t.custom.get("label"):
                return str(t.custom["label"])
    return name.replace("_", " ").capitalize()


def _role_may_run(name: str, order: SalesOrder, user: Any) -> bool:
    """Whether the user's role carries the permission of this transition at all; whether
    the order's state allows it now is the service's question."""
    meta = getattr(getattr(SalesOrder, name, None), "_django_fsm", None)
    if meta is None:
        return False
    return any(t.has_perm(order, user) for t in meta.transitions.values())


# --- list --------------------------------------------------------------------------------


@role_required(VIEW_ORDERS)
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """The order book: filters, search, sortable columns; HTMX swaps only the table."""
    form = OrderFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {"ordering": form.DEFAULT_ORDERING}
    page = Paginator(selectors.orders_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "orders": page.object_list,
        "ordering": filters["ordering"],
        "today": timezone.localdate(),
        "is_filtered": any(v for k, v in filters.items() if k != "ordering"),
    }
    return render_maybe_partial(request, "orders/list.html", "orders/_list_table.html", context)


# --- entry and draft editing -----------------------------------------------------------


def _order_form_page(
    request: HttpRequest,
    *,
    order: SalesOrder | None,
    initial: dict[str, Any] | None = None,
    lines_initial: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = OrderForm(data, initial=initial)
    formset = OrderLineFormSet(
        data,
        prefix="lines",
        initial=lines_initial,
        form_kwargs={"item_choices": item_choices()},
    )
    if data is not None and all([form.is_valid(), formset.is_valid()]):
        entries = formset.line_entries()
        header = form.cleaned_data
        try:
            if order is None:
                saved = services.sales_order_create(
                    customer=header["customer"],
                    user=request.user,
                    lines=[line for _, line in entries],
                    customer_po=header["customer_po"],
                    ship_to=header["ship_to"],
                    notes=header["notes"],
                )
            else:
                saved = services.sales_order_update_draft(
                    order=order,
                    user=request.user,
                    customer=header["customer"],
                    customer_po=header["customer_po"],
                    ship_to=header["ship_to"],
                    notes=header["notes"],
                    lines=[line for _, line in entries],
                )
        except ValidationFailed as exc:
            add_order_errors(form, [line_form for line_form, _ in entries], exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            if order is not None:
                return redirect(_detail_url(order))
            form.add_error(None, exc.message)
        else:
            if order is None:
                messages.success(
                    request, _("Order %(number)s created as a draft.") % {"number": saved.number}
                )
            else:
                messages.success(request, _("Draft %(number)s saved.") % {"number": saved.number})
            return redirect(_detail_url(saved))
    return render(
        request,
        "orders/form.html",
        {"form": form, "formset": formset, "order": order},
    )


@role_required("orders.add_salesorder")
def order_create(request: HttpRequest) -> HttpResponse:
    return _order_form_page(request, order=None)


@role_required("orders.change_salesorder")
def order_edit(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(number)
    if order.state != OrderState.DRAFT:
        messages.error(
            request,
            _("%(number)s is %(state)s: only drafts are edited directly; request a change instead.")
            % {"number": order.number, "state": order.get_state_display().lower()},
        )
        return redirect(_detail_url(order))
    initial, lines_initial = order_form_initial(order)
    return _order_form_page(request, order=order, initial=initial, lines_initial=lines_initial)


@role_required("orders.view_customer")
@require_GET
def ship_to_options(request: HttpRequest) -> HttpResponse:
    """The ship-to options of the customer chosen on the order form (HTMX)."""
    customer = request.GET.get("customer", "")
    addresses = (
        ShipToAddress.objects.filter(customer_id=int(customer)) if customer.isdigit() else []
    )
    return render(request, "orders/_ship_to_options.html", {"addresses": addresses})


@role_required(VIEW_ORDERS)
@require_GET
def promise_preview(request: HttpRequest) -> HttpResponse:
    """The capable-to-promise date of one order line as it is typed (HTMX): planning's
    free capacity on the routed work centers and when the material is there."""
    import datetime as dt
    from decimal import Decimal, InvalidOperation

    from inventory.selectors import items_active
    from planning.services.promising import promise_compute

    # The line's fields arrive with their formset prefix ("lines-0-item").
    values = {key.rsplit("-", 1)[-1]: value.strip() for key, value in request.GET.items()}
    item = (
        items_active().filter(pk=int(values["item"])).first()
        if values.get("item", "").isdigit()
        else None
    )
    try:
        quantity = Decimal(values.get("quantity", ""))
    except InvalidOperation:
        quantity = None
    try:
        requested = dt.date.fromisoformat(values.get("requested_date", ""))
    except ValueError:
        requested = timezone.localdate()
    context: dict[str, Any] = {"item": item, "requested": requested}
    if item is not None and quantity is not None and quantity.is_finite() and quantity > 0:
        context["quantity"] = quantity
        context["promise"] = promise_compute(item=item, quantity=quantity, requested_date=requested)
    return render(request, "orders/_promise_preview.html", context)


# --- detail ----------------------------------------------------------------------------


def _render_detail(
    request: HttpRequest, order: SalesOrder, bound: dict[Any, Any] | None = None
) -> HttpResponse:
    """The order page. `bound` holds a submitted form that failed, keyed like the form
    it replaces ("hold", "priority", ("promise", line_no), ("reject", cr.pk), ...), so
    its errors show next to its fields with its panel open."""
    bound = bound or {}
    user = request.user
    reasons = reason_code_choices()
    lines = list(order.lines.all())
    committed = order.state in COMMITTED_OPEN_STATES

    transitions = []
    offered = [t for t in available_transitions(order, user) if t.name in PAGE_TRANSITIONS]
    for t in sorted(offered, key=lambda t: PAGE_TRANSITION_ORDER.index(t.name)):
        entry: dict[str, Any] = {
            "name": t.name,
            "label": t.custom.get("label", t.name),
            "style": TRANSITION_STYLES.get(t.name, "btn-outline-primary"),
            "dom_id": t.name.replace("_", "-"),
            "form": None,
        }
        if t.name in REASON_TRANSITIONS:
            entry["form"] = bound.get(t.name) or TransitionReasonForm(
                reason_choices=reasons, auto_id=f"{t.name}_%s"
            )
        transitions.append(entry)

    may_request = user.has_perm(REQUEST_CHANGE) and committed
    request_cancel_form = None
    if may_request and order.is_in_production:
        request_cancel_form = bound.get("request_cancel") or ChangeRequestForm(
            order=order,
            lines=lines,
            reason_choices=reasons,
            initial={"kind": ChangeRequest.Kind.CANCEL},
            auto_id="request_cancel_%s",
        )
    change_form = None
    if may_request:
        change_form = bound.get("change_request") or ChangeRequestForm(
            order=order,
            lines=lines,
            item_choices=item_choices(),
            reason_choices=reasons,
            auto_id="cr_%s",
        )

    priority_form = None
    if committed and user.has_perm("orders.change_order_priority"):
        priority_form = bound.get("priority") or PriorityForm(
            reason_choices=reasons, initial={"priority": order.priority}, auto_id="priority_%s"
        )
    may_repromise = committed and user.has_perm("orders.change_promise_date")
    line_rows = [
        {
            "line": line,
            "promise_form": (
                bound.get(("promise", line.line_no))
                or PromiseDateForm(
                    reason_choices=reasons,
                    initial={"promise_date": line.promise_date},
                    auto_id=f"promise{line.line_no}_%s",
                )
            )
            if may_repromise
            else None,
            "promise_open": ("promise", line.line_no) in bound,
        }
        for line in lines
    ]

    may_approve = user.has_perm(APPROVE_CHANGE)
    change_rows = [
        _change_request_row(cr, user, may_approve, bound.get(("reject", cr.pk)))
        for cr in selectors.change_requests_for_order(order=order)
    ]
    context = {
        "order": order,
        "line_rows": line_rows,
        "transitions": transitions,
        "open_panel": next((k for k in bound if isinstance(k, str)), ""),
        "priority_form": priority_form,
        "change_form": change_form,
        "request_cancel_form": request_cancel_form,
        "change_rows": change_rows,
        "timeline": selectors.order_timeline(order=order),
        "may_edit": order.state == OrderState.DRAFT and user.has_perm("orders.change_salesorder"),
        "today": timezone.localdate(),
    }
    return render(request, "orders/detail.html", context)


def _change_request_row(
    cr: ChangeRequest, user: Any, may_approve: bool, reject_form: DecisionForm | None = None
) -> dict[str, Any]:
    requested = cr.state == ChangeRequest.State.REQUESTED
    return {
        "cr": cr,
        "summary": selectors.change_request_summary(cr),
        # A planner other than the requester approves; the server checks it again.
        "can_approve": requested and may_approve and cr.requested_by_id != user.pk,
        "is_own": cr.requested_by_id == user.pk,
        "can_reject": requested and may_approve,
        "can_apply": cr.state == ChangeRequest.State.APPROVED
        and (may_approve or user.has_perm(REQUEST_CHANGE)),
        "reject_form": reject_form or DecisionForm(auto_id=f"reject{cr.pk}_%s"),
        "reject_open": reject_form is not None,
    }


@role_required(VIEW_ORDERS)
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render_detail(request, _order_or_404(number))


@role_required(VIEW_ORDERS)
@require_POST
def order_transition(request: HttpRequest, number: str, name: str) -> HttpResponse:
    order = _order_or_404(number)
    if name not in PAGE_TRANSITIONS:
        raise Http404
    if not _role_may_run(name, order, request.user):
        raise PermissionDenied
    form = TransitionReasonForm(
        request.POST, reason_choices=reason_code_choices(), auto_id=f"{name}_%s"
    )
    if not form.is_valid():
        return _render_detail(request, order, bound={name: form})
    try:
        done = services.sales_order_transition(
            order=order,
            user=request.user,
            transition=name,
            reason_code=form.cleaned_data["reason_code"],
            comment=form.cleaned_data["comment"],
        )
    except IllegalTransition as exc:
        allowed = [_transition_label(name) for name in PAGE_TRANSITION_ORDER if name in exc.allowed]
        messages.error(
            request,
            _("%(action)s is not possible while %(number)s is %(state)s. Allowed now: %(allowed)s.")
            % {
                "action": _transition_label(name),
                "number": order.number,
                "state": OrderState(exc.current_state).label.lower(),
                "allowed": ", ".join(allowed) or _("nothing"),
            },
        )
    except ValidationFailed as exc:
        if name in REASON_TRANSITIONS and set(exc.errors) <= set(form.fields):
            add_service_errors(form, exc)
            return _render_detail(request, order, bound={name: form})
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(number)s: %(action)s done; the order is now %(state)s.")
            % {
                "number": done.number,
                "action": _transition_label(name).lower(),
                "state": done.get_state_display().lower(),
            },
        )
    return redirect(_detail_url(order))


# --- governed changes ------------------------------------------------------------------


def _governed_change(
    request: HttpRequest,
    order: SalesOrder,
    form: forms.Form,
    *,
    bound_key: Any,
    apply: Callable[[dict[str, Any]], str],
    anchor: str = "",
) -> HttpResponse:
    """Run one governed change from its form: errors next to the fields, success back to
    the order. `apply` calls the service and returns the success message."""
    if form.is_valid():
        try:
            message = apply(form.cleaned_data)
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(order))
        else:
            messages.success(request, message)
            return redirect(_detail_url(order, anchor))
    return _render_detail(request, order, bound={bound_key: form})


@role_required(VIEW_ORDERS, "orders.change_order_priority")
@require_POST
def order_priority(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(number)
    form = PriorityForm(request.POST, reason_choices=reason_code_choices(), auto_id="priority_%s")

    def apply(data: dict[str, Any]) -> str:
        changed = services.order_priority_change(
            order=order,
            user=request.user,
            priority=data["priority"],
            reason_code=data["reason_code"],
            reason_text=data["reason_text"],
        )
        return _("Priority of %(number)s is now %(priority)s.") % {
            "number": changed.number,
            "priority": changed.get_priority_display(),
        }

    return _governed_change(request, order, form, bound_key="priority", apply=apply)


@role_required(VIEW_ORDERS, "orders.change_promise_date")
@require_POST
def line_promise_date(request: HttpRequest, number: str, line_no: int) -> HttpResponse:
    order = _order_or_404(number)
    line = next((x for x in order.lines.all() if x.line_no == line_no), None)
    if line is None:
        raise Http404
    form = PromiseDateForm(
        request.POST, reason_choices=reason_code_choices(), auto_id=f"promise{line_no}_%s"
    )

    def apply(data: dict[str, Any]) -> str:
        changed = services.line_promise_date_change(
            line=line,
            user=request.user,
            promise_date=data["promise_date"],
            reason_code=data["reason_code"],
            reason_text=data["reason_text"],
        )
        return _("Line %(line)s of %(number)s is now promised for %(date)s.") % {
            "line": changed.line_no,
            "number": order.number,
            "date": changed.promise_date,
        }

    return _governed_change(
        request,
        order,
        form,
        bound_key=("promise", line_no),
        apply=apply,
        anchor=f"line-{line_no}",
    )


@role_required(VIEW_ORDERS, REQUEST_CHANGE)
def change_request_create(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(number)
    lines = list(order.lines.all())
    data = request.POST if request.method == "POST" else None
    kind = request.GET.get("kind", "")
    form = ChangeRequestForm(
        data,
        order=order,
        lines=lines,
        item_choices=item_choices(),
        reason_choices=reason_code_choices(),
        initial={"kind": kind} if kind in ChangeRequest.Kind.values else None,
    )
    if data is not None and form.is_valid():
        values = form.cleaned_data
        try:
            cr = services.change_request_create(
                order=order,
                user=request.user,
                kind=values["kind"],
                reason_code=values["reason_code"],
                reason_text=values["reason_text"],
                line=values["line"],
                new_quantity=values["new_quantity"],
                new_date=values["new_date"],
                new_item=values["new_item"],
            )
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(order))
        else:
            if cr.state == ChangeRequest.State.APPLIED:
                message = _("%(cr)s applied at once: %(number)s is not in production yet.")
            else:
                message = _("%(cr)s requested: a planner other than you must approve it.")
            messages.success(request, message % {"cr": cr.number, "number": order.number})
            return redirect(_detail_url(order, "change-requests"))
    return render(
        request,
        "orders/change_request_form.html",
        {"order": order, "form": form},
    )


@role_required(VIEW_CHANGES)
@require_GET
def change_request_list(request: HttpRequest) -> HttpResponse:
    """Change requests by state, pending ones first in line for the approver."""
    form = ChangeRequestFilterForm(request.GET)
    state = form.state_filter()
    page = Paginator(selectors.change_requests_list(state=state), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    may_approve = request.user.has_perm(APPROVE_CHANGE)
    context = {
        "page_obj": page,
        "rows": [_change_request_row(cr, request.user, may_approve) for cr in page.object_list],
        "state": state or ChangeRequestFilterForm.ALL,
        "state_tabs": [*ChangeRequest.State.choices, (ChangeRequestFilterForm.ALL, _("All"))],
    }
    return render_maybe_partial(
        request, "orders/change_requests.html", "orders/_change_requests_table.html", context
    )


@role_required(VIEW_CHANGES)
@require_POST
def change_request_decide(request: HttpRequest, cr_number: str, action: str) -> HttpResponse:
    cr = get_object_or_404(ChangeRequest.objects.select_related("order"), number=cr_number)
    user = request.user
    if action in {"approve", "reject"}:
        if not user.has_perm(APPROVE_CHANGE):
            raise PermissionDenied
    elif action == "apply":
        if not (user.has_perm(APPROVE_CHANGE) or user.has_perm(REQUEST_CHANGE)):
            raise PermissionDenied
    else:
        raise Http404
    form = DecisionForm(request.POST, auto_id=f"reject{cr.pk}_%s")
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    try:
        if action == "approve":
            cr = services.change_request_approve(change_request=cr, user=user, note=note)
        elif action == "reject":
            cr = services.change_request_reject(change_request=cr, user=user, note=note)
        else:
            cr = services.change_request_apply(change_request=cr, user=user)
    except ValidationFailed as exc:
        if action == "reject":
            add_service_errors(form, exc)
            order = _order_or_404(cr.order.number)
            return _render_detail(request, order, bound={("reject", cr.pk): form})
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        done = {
            ChangeRequest.State.APPLIED: _("%(cr)s approved and applied."),
            ChangeRequest.State.APPROVED: _("%(cr)s approved."),
            ChangeRequest.State.REJECTED: _("%(cr)s rejected."),
        }.get(cr.state, _("%(cr)s updated."))
        messages.success(request, done % {"cr": cr.number})
    return redirect(_back_url(request, cr))


def _back_url(request: HttpRequest, cr: ChangeRequest) -> str:
    """Back to the page the decision was made on (the list, with its filters), else the
    order's change requests."""
    return safe_next_url(request, _detail_url(cr.order, "change-requests"))
