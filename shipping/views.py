"""Pages for dispatch. Thin views: parse the request, call a selector or a service,
render.

Sections: the must-ship board (every role reads it; its partial refreshes itself every
5 s through HTMX); shipments on the desktop (list, detail, new, documents, labels, hold /
release / cancel); the shipping clerk's tablet (pick, pack, documents, dock, hand over)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from inventory.models import ScanRefusal
from mes.core.errors import DomainError, ValidationFailed
from mes.core.formatting import quantity_text
from mes.core.forms import add_service_errors, reason_code_choices
from mes.core.selectors import history_for
from mes.core.transitions import available_transitions
from mes.core.views import any_permission_required, render_maybe_partial, role_required
from orders.models import Customer, ShipToAddress

from . import services
from .forms import (
    CustomerChoiceForm,
    DockScanForm,
    HandOverForm,
    PackageFormSet,
    PlanShipmentForm,
    ShipmentFilterForm,
    ShipmentPickForm,
    ShortPickForm,
    TransitionReasonForm,
    ready_lines,
)
from .models import (
    OPEN_STATES,
    Carrier,
    Package,
    Shipment,
    ShipmentDocument,
    ShipmentLine,
    ShipmentState,
)
from .mustship import DUE_FILTERS, must_ship_board
from .selectors import (
    shipment_detail,
    shipment_document_content,
    shipment_lots,
    shipments_open,
)
from .services import MANUAL_TRANSITIONS, SHIPMENT_DOCUMENT, shipment_pick_list

S = ShipmentState

VIEW_SHIPMENTS = "shipping.view_shipment"

# --- must-ship board ---------------------------------------------------------------------

# Fifty lines a page: what a screen shows; the counts above cover every line.
MUST_SHIP_PER_PAGE = 50


@role_required(VIEW_SHIPMENTS)
@require_GET
def must_ship(request: HttpRequest) -> HttpResponse:
    """What must ship today and tomorrow, how ready and what puts it at risk; filters
    ?due=today|tomorrow|all and ?page=N."""
    due = request.GET.get("due", "all")
    due = due if due in DUE_FILTERS else "all"
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    board = must_ship_board(page=page, per_page=MUST_SHIP_PER_PAGE, due=due)
    # A paginator over the count alone: the pagination links, no query.
    page_obj = Paginator(range(board.total), MUST_SHIP_PER_PAGE).get_page(board.page)
    context = {"board": board, "page_obj": page_obj, "due_filters": DUE_FILTERS}
    return render_maybe_partial(
        request, "shipping/mustship.html", "shipping/_mustship_board.html", context
    )


# --- shipments: desktop pages ----------------------------------------------------------------
# The list, a shipment's page (lines, lots, packages, documents, history, refused scans,
# hold / release / cancel), a new shipment from ready order lines, the PDF downloads and
# the printable label page.

PAGE_SIZE = 50
ADD = "shipping.add_shipment"
PICK = "shipping.pick_shipment"
SHIP = "shipping.ship_shipment"
HOLD = "shipping.hold_shipment"
REASON_TRANSITIONS = ("hold", "cancel")
TRANSITION_STYLES = {
    "hold": "btn-outline-warning",
    "release_hold": "btn-outline-success",
    "cancel": "btn-outline-danger",
}


def _count_of(model: Any) -> Coalesce:
    rows = (
        model.objects.filter(shipment_id=OuterRef("pk"))
        .order_by()
        .values("shipment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _shipments_list(
    *,
    state: str = "",
    customer: Customer | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Shipment]:
    """Shipments soonest ship date first (undated last), with their customer, ship-to
    and carrier and their line and package counts: one query a page."""
    rows = Shipment.objects.select_related("customer", "ship_to", "carrier").annotate(
        line_count=_count_of(ShipmentLine), package_count=_count_of(Package)
    )
    if state == ShipmentFilterForm.OPEN:
        rows = rows.filter(state__in=OPEN_STATES)
    elif state:
        rows = rows.filter(state=state)
    if customer is not None:
        rows = rows.filter(customer=customer)
    if date_from:
        rows = rows.filter(planned_ship_date__gte=date_from)
    if date_to:
        rows = rows.filter(planned_ship_date__lte=date_to)
    return rows.order_by(F("planned_ship_date").asc(nulls_last=True), "-id")


@role_required(VIEW_SHIPMENTS)
@require_GET
def shipment_list(request: HttpRequest) -> HttpResponse:
    """Shipments by state, customer and ship date; HTMX swaps only the table."""
    form = ShipmentFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(_shipments_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "shipments": page.object_list,
        "is_filtered": any(filters.values()),
    }
    return render_maybe_partial(request, "shipping/list.html", "shipping/_list_table.html", context)


def _shipment_or_404(number: str) -> Shipment:
    shipment = (
        Shipment.objects.select_related("customer", "ship_to", "dock_location", "carrier")
        .filter(number=number)
        .first()
    )
    if shipment is None:
        raise Http404
    return shipment


def _transition_label(name: str) -> str:
    meta = getattr(Shipment, name)._django_fsm
    return str(next(iter(meta.transitions.values())).custom.get("label", name))


def _tablet_step(shipment: Shipment) -> str:
    """The tablet page where the shipment's next step is done."""
    state = shipment.state
    if state in (S.PLANNED, S.PICKING):
        return "pick"
    if state == S.PACKED:
        return "documents"
    if state == S.DOCUMENTED:
        return "dock"
    return ""


def _refusal_counts(shipment: Shipment) -> dict[str, int]:
    rows = (
        ScanRefusal.objects.filter(document_type=SHIPMENT_DOCUMENT, document_id=shipment.pk)
        .order_by()
        .values("kind")
        .annotate(n=Count("id"))
    )
    return {row["kind"]: row["n"] for row in rows}


def _render_detail(
    request: HttpRequest, shipment: Shipment, bound: dict[str, Any] | None = None
) -> HttpResponse:
    bound = bound or {}
    detail = shipment_detail(shipment.pk)
    shipment = detail.shipment
    user = request.user
    reasons = reason_code_choices()
    transitions = []
    for t in available_transitions(shipment, user):
        if t.name not in MANUAL_TRANSITIONS:
            continue
        form = None
        if t.name in REASON_TRANSITIONS:
            form = bound.get(t.name) or TransitionReasonForm(
                reason_choices=reasons, auto_id=f"{t.name}_%s"
            )
        transitions.append(
            {
                "name": t.name,
                "dom_id": t.name.replace("_", "-"),
                "label": t.custom.get("label", t.name),
                "style": TRANSITION_STYLES.get(t.name, "btn-outline-secondary"),
                "form": form,
            }
        )
    documents = {document.kind: document for document in detail.documents}
    refusals = _refusal_counts(shipment)
    step = _tablet_step(shipment)
    step_perm = PICK if step == "pick" else SHIP
    context = {
        "shipment": shipment,
        "detail": detail,
        "lines": [{"line": line, "lots": detail.lots.get(line.pk, [])} for line in detail.lines],
        "documents": [
            {"kind": kind, "label": label, "document": documents.get(kind)}
            for kind, label in ShipmentDocument.Kind.choices
        ],
        "history": history_for([shipment])["transitions"],
        "refusals": refusals,
        "refusal_total": sum(refusals.values()),
        "transitions": transitions,
        "open_panel": next(iter(bound), ""),
        "next_step": step if step and user.has_perm(step_perm) else "",
    }
    return render(request, "shipping/detail.html", context)


@role_required(VIEW_SHIPMENTS)
@require_GET
def shipment_page(request: HttpRequest, number: str) -> HttpResponse:
    return _render_detail(request, _shipment_or_404(number))


@role_required(HOLD)
@require_POST
def shipment_transition_page(request: HttpRequest, number: str, name: str) -> HttpResponse:
    """Hold or cancel with a reason; release a hold."""
    shipment = _shipment_or_404(number)
    if name not in MANUAL_TRANSITIONS:
        raise Http404
    form = TransitionReasonForm(
        request.POST, reason_choices=reason_code_choices(), auto_id=f"{name}_%s"
    )
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    try:
        done = services.shipment_transition(
            shipment=shipment,
            actor=request.user,
            transition=name,
            reason_code=data.get("reason_code") or None,
            comment=data.get("comment", ""),
        )
    except ValidationFailed as exc:
        if name in REASON_TRANSITIONS:
            add_service_errors(form, exc)
            return _render_detail(request, shipment, bound={name: form})
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(number)s: %(action)s done; the shipment is now %(state)s.")
            % {
                "number": done.number,
                "action": _transition_label(name).lower(),
                "state": done.get_state_display().lower(),
            },
        )
    return redirect(reverse("shipping:detail", args=[shipment.number]))


def _destinations(customer: Customer, lines: list[Any]) -> list[dict[str, Any]]:
    """The ready lines grouped by where they go (the order's ship-to, else the
    customer's default): one shipment goes to one address."""
    default = (
        ShipToAddress.objects.filter(customer=customer)
        .order_by("-is_default", "label", "id")
        .first()
    )
    groups: dict[int, dict[str, Any]] = {}
    for line in lines:
        address = line.order.ship_to or default
        key = address.pk if address else 0
        groups.setdefault(key, {"key": key, "address": address, "lines": []})["lines"].append(line)
    return list(groups.values())


@role_required(ADD)
def shipment_new(request: HttpRequest) -> HttpResponse:
    """A new shipment: choose the customer, then, per ship-to, the ready lines and how
    much of each (several orders to one ship-to share a shipment)."""
    source = request.POST if request.method == "POST" else request.GET
    chooser = CustomerChoiceForm(source if source.get("customer") else None)
    customer = chooser.cleaned_data["customer"] if chooser.is_valid() else None
    groups: list[dict[str, Any]] = []
    if customer is not None:
        groups = _destinations(customer, ready_lines(customer))
        posted = request.POST.get("group") if request.method == "POST" else None
        for group in groups:
            data = request.POST if posted == str(group["key"]) else None
            group["form"] = PlanShipmentForm(
                data, lines=group["lines"], prefix=f"g{group['key']}", auto_id=f"g{group['key']}_%s"
            )
            if data is None or not group["form"].is_valid():
                continue
            form = group["form"]
            try:
                shipment = services.shipment_create(
                    lines=form.chosen(),
                    user=request.user,
                    planned_ship_date=form.cleaned_data["planned_ship_date"],
                    dock_location=form.cleaned_data["dock_location"],
                    notes=form.cleaned_data["notes"],
                )
            except DomainError as exc:
                form.add_refusal(exc)
                continue
            messages.success(
                request,
                _("%(number)s planned: %(count)d line(s), stock reserved.")
                % {"number": shipment.number, "count": len(form.chosen())},
            )
            return redirect(reverse("shipping:detail", args=[shipment.number]))
    return render(
        request,
        "shipping/new.html",
        {"chooser": chooser, "customer": customer, "groups": groups},
    )


@role_required(VIEW_SHIPMENTS)
@require_GET
def shipment_document_download(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    """The stored PDF as it was generated (shown in the browser; ?download=1 saves it)."""
    if kind not in ShipmentDocument.Kind.values:
        raise Http404
    document = shipment_document_content(shipment=_shipment_or_404(number), kind=kind)
    if document is None:
        raise Http404
    response = HttpResponse(bytes(document.content), content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{number}-{kind}.pdf"'
    response["ETag"] = f'"{document.sha256}"'
    response["Cache-Control"] = "private, no-cache"
    return response


@role_required(VIEW_SHIPMENTS)
@require_GET
def shipment_labels(request: HttpRequest, number: str) -> HttpResponse:
    """Printable labels: the shipment's and one per package, each with its Code 128."""
    detail = shipment_detail(_shipment_or_404(number).pk)
    labels_pdf = next((d for d in detail.documents if d.kind == ShipmentDocument.Kind.LABELS), None)
    return render(
        request,
        "shipping/labels.html",
        {
            "shipment": detail.shipment,
            "detail": detail,
            "packages": detail.packages,
            "labels_pdf": labels_pdf,
            "plant_address": [p for p in settings.PLANT_ADDRESS.splitlines() if p.strip()],
        },
    )


# --- shipments: the shipping clerk's tablet --------------------------------------------------
# Pick (scan-verified, short pick with a note), pack (packages with contents, labels),
# documents (generate, show, mark documented), dock (scan every package label) and hand
# over to the carrier. Each page shows the shipment's steps as tabs.

TABLET_STEPS = (
    ("pick", _lazy("Pick"), PICK),
    ("pack", _lazy("Pack"), PICK),
    ("documents", _lazy("Documents"), SHIP),
    ("dock", _lazy("Dock"), SHIP),
    ("hand_over", _lazy("Hand over"), SHIP),
)


def _tablet_context(request: HttpRequest, shipment: Shipment, step: str) -> dict[str, Any]:
    return {
        "shipment": shipment,
        "step": step,
        "steps": [
            {
                "name": name,
                "label": label,
                "url": reverse(f"shipping:{name}", args=[shipment.number]),
                "allowed": request.user.has_perm(perm),
            }
            for name, label, perm in TABLET_STEPS
        ],
    }


@any_permission_required(PICK, SHIP)
@require_GET
def tablet(request: HttpRequest) -> HttpResponse:
    """The shipping clerk's start page: every open shipment, soonest first, as a big
    tile opening its next step."""
    page = Paginator(shipments_open(), PAGE_SIZE).get_page(request.GET.get("page"))
    tiles = []
    for shipment in page.object_list:
        step = _tablet_step(shipment)
        url = (
            reverse(f"shipping:{step}", args=[shipment.number])
            if step
            else reverse("shipping:detail", args=[shipment.number])
        )
        tiles.append({"shipment": shipment, "url": url, "step": step})
    return render(
        request,
        "shipping/tablet.html",
        {"page_obj": page, "tiles": tiles, "today": timezone.localdate()},
    )


def _shipment_lines(shipment: Shipment) -> list[ShipmentLine]:
    return list(
        ShipmentLine.objects.filter(shipment=shipment)
        .select_related("item", "sales_order_line__order")
        .order_by("sales_order_line__order__number", "sales_order_line__line_no", "id")
    )


def _render_pick(
    request: HttpRequest,
    shipment: Shipment,
    form: ShipmentPickForm | None = None,
    error: str = "",
    short_form: ShortPickForm | None = None,
) -> HttpResponse:
    pick_list = shipment_pick_list(shipment=shipment)
    lines = _shipment_lines(shipment)
    may_pick = shipment.state in (S.PLANNED, S.PICKING)
    if form is None:
        form = ShipmentPickForm(pick_lines=pick_list)
    else:
        form.pick_lines = pick_list
    form.prime()
    if error:
        form.drop_field_error(error)
    open_lines = [line for line in lines if line.quantity_open > 0]
    context = _tablet_context(request, shipment, "pick")
    context.update(
        {
            "pick_list": pick_list,
            "lines": lines,
            "form": form,
            "flow_error": error,
            "may_pick": may_pick,
            "all_picked": may_pick and not open_lines,
            "short_form": short_form or ShortPickForm(lines=lines, auto_id="short_%s"),
            "short_open": short_form is not None,
            "has_open_lines": bool(open_lines),
        }
    )
    return render(request, "shipping/tablet_pick.html", context)


@role_required(PICK)
def shipment_pick_page(request: HttpRequest, number: str) -> HttpResponse:
    """The pick list in walking order and one scan field: location, item, lot, quantity.
    A wrong scan is refused in red and counted on the shipment."""
    shipment = _shipment_or_404(number)
    if request.method != "POST":
        return _render_pick(request, shipment)
    form = ShipmentPickForm(request.POST, pick_lines=shipment_pick_list(shipment=shipment))
    if not (form.is_valid() and form.complete):
        return _render_pick(request, shipment, form)
    values = form.values
    try:
        move = services.shipment_pick(
            shipment=shipment,
            actor=request.user,
            location_code=values["location_code"],
            item_code=values["item_code"],
            lot_code=values.get("lot_code") or "",
            quantity=values["quantity"],
        )
    except DomainError as exc:
        shipment = _shipment_or_404(number)  # the refusal is counted on the shipment
        add_service_errors(form, exc)
        form.restart()
        return _render_pick(request, shipment, form, exc.message)
    lot = f" {_('lot')} {move.lot.number}" if move.lot_id else ""
    messages.success(
        request,
        _("Picked %(qty)s %(unit)s of %(item)s%(lot)s to %(dock)s.")
        % {
            "qty": quantity_text(move.quantity),
            "unit": move.item.unit,
            "item": move.item.sku,
            "lot": lot,
            "dock": shipment.dock_location.code,
        },
    )
    return redirect(reverse("shipping:pick", args=[shipment.number]))


@role_required(PICK)
@require_POST
def shipment_short_pick_page(request: HttpRequest, number: str) -> HttpResponse:
    """Report part of a line as not found, with a note."""
    shipment = _shipment_or_404(number)
    lines = _shipment_lines(shipment)
    form = ShortPickForm(request.POST, lines=lines, auto_id="short_%s")
    if not form.is_valid():
        return _render_pick(request, shipment, short_form=form)
    line = form.lines[form.cleaned_data["line"]]
    try:
        done = services.shipment_short_pick(
            shipment=shipment,
            line=line,
            actor=request.user,
            quantity=form.cleaned_data["quantity"],
            note=form.cleaned_data["note"],
        )
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render_pick(request, _shipment_or_404(number), short_form=form)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render_pick(request, _shipment_or_404(number), short_form=form)
    messages.warning(
        request,
        _("%(item)s: %(qty)s %(unit)s reported short; the planner is told.")
        % {
            "item": done.item.sku,
            "qty": quantity_text(done.quantity_short),
            "unit": done.item.unit,
        },
    )
    return redirect(reverse("shipping:pick", args=[shipment.number]))


def _picked_rows(shipment: Shipment, lines: list[ShipmentLine]) -> list[dict[str, Any]]:
    """What can go into packages: per line and lot, the quantity picked."""
    lots = shipment_lots(shipment=shipment)
    rows = []
    for line in lines:
        for index, (lot, quantity) in enumerate(lots.get(line.pk, [])):
            so_line = line.sales_order_line
            lot_text = f" {_('lot')} {lot}" if lot else ""
            rows.append(
                {
                    "key": f"c_{line.pk}_{index}",
                    "line": line.pk,
                    "lot": lot,
                    "quantity": quantity,
                    "label": f"{so_line.order.number}/{so_line.line_no} {line.item.sku}"
                    f"{lot_text} ({quantity_text(quantity)} {line.item.unit})",
                }
            )
    return rows


def _render_pack(
    request: HttpRequest,
    shipment: Shipment,
    formset: Any = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    lines = _shipment_lines(shipment)
    picked = _picked_rows(shipment, lines)
    if formset is None:
        formset = PackageFormSet(prefix="pkg", picked=picked)
    context = _tablet_context(request, shipment, "pack")
    context.update(
        {
            "lines": lines,
            "picked": picked,
            "formset": formset,
            "pack_errors": errors or [],
            "may_pack": shipment.state == S.PICKING,
            "packages": list(
                Package.objects.filter(shipment=shipment)
                .prefetch_related("contents__shipment_line__item", "contents__lot")
                .order_by("id")
            ),
        }
    )
    return render(request, "shipping/tablet_pack.html", context)


@role_required(PICK)
def shipment_pack_page(request: HttpRequest, number: str) -> HttpResponse:
    """Packages (type, weight, dimensions) and what goes in each; "Add package" adds a
    row, "Pack" packs them all at once and gives each its Code 128 label."""
    shipment = _shipment_or_404(number)
    if request.method != "POST":
        return _render_pack(request, shipment)
    picked = _picked_rows(shipment, _shipment_lines(shipment))
    data = request.POST.copy()
    action = data.get("action", "pack")
    if action in ("add", "remove"):
        total = int(data.get("pkg-TOTAL_FORMS") or 1)
        total = min(total + 1, 50) if action == "add" else max(total - 1, 1)
        data["pkg-TOTAL_FORMS"] = str(total)
        return _render_pack(request, shipment, PackageFormSet(data, prefix="pkg", picked=picked))
    formset = PackageFormSet(data, prefix="pkg", picked=picked)
    if not formset.is_valid():
        return _render_pack(request, shipment, formset)
    try:
        made = services.shipment_pack(
            shipment=shipment, actor=request.user, packages=formset.specs()
        )
    except DomainError as exc:
        rest = formset.add_refusal(exc) if isinstance(exc, ValidationFailed) else [exc.message]
        return _render_pack(request, _shipment_or_404(number), formset, rest)
    messages.success(
        request,
        _("%(number)s packed in %(count)d package(s): %(labels)s.")
        % {
            "number": shipment.number,
            "count": len(made),
            "labels": ", ".join(p.label for p in made),
        },
    )
    return redirect(reverse("shipping:pack", args=[shipment.number]))


def _render_documents(request: HttpRequest, shipment: Shipment, error: str = "") -> HttpResponse:
    stored = {
        d.kind: d
        for d in ShipmentDocument.objects.filter(shipment=shipment)
        .defer("content")
        .select_related("generated_by")
    }
    state = shipment.state
    context = _tablet_context(request, shipment, "documents")
    context.update(
        {
            "documents": [
                {"kind": kind, "label": label, "document": stored.get(kind)}
                for kind, label in ShipmentDocument.Kind.choices
            ],
            "may_generate": state in (S.PACKED, S.DOCUMENTED),
            "may_document": state == S.PACKED,
            "flow_error": error,
        }
    )
    return render(request, "shipping/tablet_documents.html", context)


@role_required(SHIP)
def shipment_documents_page(request: HttpRequest, number: str) -> HttpResponse:
    """The packing slip, bill of lading and labels: print (generate) them, open them,
    then mark the shipment documented."""
    shipment = _shipment_or_404(number)
    if request.method != "POST":
        return _render_documents(request, shipment)
    action = request.POST.get("action")
    try:
        if action == "generate":
            services.shipment_documents_generate(shipment=shipment, actor=request.user)
            message = _("Documents of %(number)s printed.")
        elif action == "document":
            services.shipment_document(shipment=shipment, actor=request.user)
            message = _("%(number)s is documented: scan its packages at the dock.")
        else:
            raise Http404
    except DomainError as exc:
        return _render_documents(request, _shipment_or_404(number), exc.message)
    messages.success(request, message % {"number": shipment.number})
    target = "dock" if action == "document" else "documents"
    return redirect(reverse(f"shipping:{target}", args=[shipment.number]))


def _render_dock(
    request: HttpRequest, shipment: Shipment, form: DockScanForm | None = None, error: str = ""
) -> HttpResponse:
    packages = list(
        Package.objects.filter(shipment=shipment).select_related("verified_by").order_by("id")
    )
    context = _tablet_context(request, shipment, "dock")
    context.update(
        {
            "form": form or DockScanForm(),
            "flow_error": error,
            "packages": packages,
            "verified": sum(1 for p in packages if p.verified_at),
            "all_verified": bool(packages) and all(p.verified_at for p in packages),
            "may_scan": shipment.state in (S.PACKED, S.DOCUMENTED),
        }
    )
    return render(request, "shipping/tablet_dock.html", context)


@role_required(SHIP)
def shipment_dock_page(request: HttpRequest, number: str) -> HttpResponse:
    """Scan each package label at the dock. Another shipment's label is refused in red
    and counted as an incorrect dispatch."""
    shipment = _shipment_or_404(number)
    if request.method != "POST":
        return _render_dock(request, shipment)
    form = DockScanForm(request.POST)
    form.is_valid()
    try:
        package = services.shipment_verify_package(
            shipment=shipment, actor=request.user, label=form.cleaned_data.get("label", "")
        )
    except DomainError as exc:
        return _render_dock(request, _shipment_or_404(number), DockScanForm(), exc.message)
    messages.success(request, _("%(label)s is on the load.") % {"label": package.label})
    return redirect(reverse("shipping:dock", args=[shipment.number]))


def _render_hand_over(
    request: HttpRequest,
    shipment: Shipment,
    form: HandOverForm | None = None,
    reasons: list[str] | None = None,
) -> HttpResponse:
    carriers = list(Carrier.objects.filter(active=True).order_by("name"))
    if form is None:
        form = HandOverForm(
            carriers=carriers,
            initial={
                "carrier": shipment.carrier.code if shipment.carrier_id else None,
                "service_level": shipment.service_level,
                "tracking_number": shipment.tracking_number,
                "driver_name": shipment.driver_name,
            },
        )
    context = _tablet_context(request, shipment, "hand_over")
    context.update(
        {
            "form": form,
            "reasons": reasons or [],
            "may_hand_over": shipment.state == S.DOCUMENTED,
            "handed_over": shipment.state in (S.HANDED_OVER, S.DELIVERED),
        }
    )
    return render(request, "shipping/tablet_hand_over.html", context)


@role_required(SHIP)
def shipment_hand_over_page(request: HttpRequest, number: str) -> HttpResponse:
    """Carrier, service level, tracking number, driver: the carrier takes the shipment.
    A refused handover lists every reason."""
    shipment = _shipment_or_404(number)
    if request.method != "POST":
        return _render_hand_over(request, shipment)
    carriers = list(Carrier.objects.filter(active=True).order_by("name"))
    form = HandOverForm(request.POST, carriers=carriers)
    if not form.is_valid():
        return _render_hand_over(request, shipment, form)
    data = form.cleaned_data
    try:
        done = services.shipment_hand_over(
            shipment=shipment,
            actor=request.user,
            carrier=data["carrier"] or "",
            service_level=data["service_level"],
            tracking_number=data["tracking_number"],
            driver_name=data["driver_name"],
        )
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render_hand_over(request, _shipment_or_404(number), form)
    except DomainError as exc:
        reasons = list(exc.errors.get("handover", [])) or [exc.message]
        return _render_hand_over(request, _shipment_or_404(number), form, reasons)
    messages.success(
        request,
        _("%(number)s handed over to %(carrier)s, tracking number %(tracking)s.")
        % {
            "number": done.number,
            "carrier": done.carrier.name,
            "tracking": done.tracking_number,
        },
    )
    return redirect(reverse("shipping:hand_over", args=[done.number]))
