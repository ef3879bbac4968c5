"""Inventory pages: tablet flows for the warehouse (receive, inspect, put away, move, pick
and stage kits, issue, scrap, count) and desktop pages (stock, an item's ledger, receipts
due and late, kits, quality holds, the lot trace).

Thin views: a form parses the scans, one service call does the work, the page shows
the outcome. A refusal (unknown barcode, more than is available, held stock, a wrong
pick) comes back on the screen next to the step it concerns and nothing is changed,
except a refused pick, which the pick service records and counts on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes.core.errors import DomainError
from mes.core.formatting import quantity_text
from mes.core.forms import add_service_errors, reason_code_choices
from mes.core.views import any_permission_required, render_maybe_partial, role_required

from . import selectors
from .forms import (
    CountForm,
    HoldFilterForm,
    HoldPlaceForm,
    HoldReleaseForm,
    InspectForm,
    KitFilterForm,
    MoveForm,
    PickForm,
    PutAwayForm,
    ReceiptFilterForm,
    ReceiptScanForm,
    ReceiveForm,
    ScanFlowForm,
    ScrapForm,
    StockFilterForm,
    TraceSearchForm,
    lot_by_scan,
)
from .models import DemandType, ExpectedReceipt, Item, Kit, Lot, QualityHold
from .services.counts import cycle_count_record, stock_scrap, stock_transfer
from .services.holds import hold_place, hold_release
from .services.kits import kit_issue, kit_pick, kit_pick_list, kit_stage
from .services.receipts import (
    receipt_by_scan,
    receipt_inspect,
    receipt_put_away,
    receipt_receive,
)
from .templatetags.inventory_ui import KIT_STATE_BADGES, RECEIPT_STATE_BADGES
from .trace import trace_backward, trace_forward

PAGE_SIZE = 50
RECEIVE = "inventory.receive_goods"
MOVE = "inventory.add_stockmove"
PICK = "inventory.pick_kit"
COUNT = "inventory.adjust_stock"
VIEW_STOCK = "inventory.view_stockbalance"
VIEW_LEDGER = "inventory.view_stockmove"
VIEW_RECEIPTS = "inventory.view_expectedreceipt"
VIEW_KITS = "inventory.view_kit"
VIEW_HOLDS = "inventory.view_qualityhold"
PLACE_HOLD = "inventory.place_hold"
RELEASE_HOLD = "inventory.release_hold"
VIEW_TRACE = "inventory.view_lotgenealogy"
# The tablet landing opens for anyone who runs one of its flows.
TABLET_PERMS = (RECEIVE, MOVE, PICK, COUNT)
OPEN_KIT_STATES = (Kit.State.OPEN, Kit.State.PICKING, Kit.State.STAGED)

ViewFunction = Callable[..., HttpResponse]


def _flow_page(
    request: HttpRequest,
    template: str,
    form: ScanFlowForm,
    *,
    error: str = "",
    **context: Any,
) -> HttpResponse:
    form.prime()
    if error:
        form.drop_field_error(error)
    return render(request, template, {"form": form, "flow_error": error, **context})


# --- tablet: landing -------------------------------------------------------------------


@any_permission_required(*TABLET_PERMS)
@require_GET
def tablet(request: HttpRequest) -> HttpResponse:
    """The warehouse tablet's start page: one big button per flow the role runs."""
    user = request.user
    tiles = [
        (RECEIVE, "receive", _("Receive"), _("Scan a receipt, PO or item at the dock")),
        (RECEIVE, "inspect", _("Inspect"), _("Accept or reject received goods")),
        (RECEIVE, "put_away", _("Put away"), _("Scan the receipt and its destination")),
        (MOVE, "move", _("Move"), _("From, item, lot, to, quantity")),
        (PICK, "pick_kits", _("Pick kits"), _("Pick list in walking order, stage, issue")),
        (MOVE, "scrap", _("Scrap"), _("Scrap stock with a reason")),
        (COUNT, "count", _("Count"), _("Cycle count a location")),
    ]
    flows = [
        {"url": reverse(f"inventory:{name}"), "label": label, "hint": hint, "name": name}
        for perm, name, label, hint in tiles
        if user.has_perm(perm)
    ]
    return render(request, "inventory/tablet.html", {"flows": flows})


# --- tablet: receipts ------------------------------------------------------------------


def _receipt_or_404(number: str) -> ExpectedReceipt:
    receipt = (
        ExpectedReceipt.objects.select_related("item", "lot", "location")
        .filter(number=number)
        .first()
    )
    if receipt is None:
        raise Http404
    return receipt


def _receipt_scan(request: HttpRequest, *, title: str, intent: str, next_url: str) -> HttpResponse:
    """The first screen of receive, inspect and put away: scan what is at the dock."""
    form = ReceiptScanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if not code:
            form.add_error("code", _("Scan the receipt, the PO or the item label."))
        else:
            receipt = receipt_by_scan(code=code)
            if receipt is None:
                form.add_error(
                    "code",
                    _("Unknown barcode “%(code)s”: no open receipt, PO or item has it.")
                    % {"code": code},
                )
            else:
                return redirect(reverse(next_url, args=[receipt.number]))
    return render(
        request,
        "inventory/receipt_scan.html",
        {"form": form, "title": title, "intent": intent},
    )


@role_required(RECEIVE)
def receive_scan(request: HttpRequest) -> HttpResponse:
    return _receipt_scan(
        request, title=_("Receive"), intent="receive", next_url="inventory:receipt_receive"
    )


@role_required(RECEIVE)
def inspect_scan(request: HttpRequest) -> HttpResponse:
    return _receipt_scan(
        request, title=_("Inspect"), intent="inspect", next_url="inventory:receipt"
    )


@role_required(RECEIVE)
def put_away_scan(request: HttpRequest) -> HttpResponse:
    return _receipt_scan(
        request, title=_("Put away"), intent="put_away", next_url="inventory:receipt_put_away"
    )


@role_required(RECEIVE)
def receipt_receive_page(request: HttpRequest, number: str) -> HttpResponse:
    """Quantity, supplier lot and expiry for one receipt, one scan at a time."""
    receipt = _receipt_or_404(number)
    form = ReceiveForm(request.POST or None, receipt=receipt)
    error = ""
    if request.method == "POST" and form.is_valid() and form.complete:
        values = form.values
        try:
            done = receipt_receive(
                receipt=receipt,
                quantity=values["quantity"],
                actor=request.user,
                supplier_lot=values.get("supplier_lot") or "",
                lot_number=values.get("lot_number") or "",
                expiry_date=values.get("expiry_date"),
            )
        except DomainError as exc:
            form.add_refusal(exc)
            error = exc.message
        else:
            messages.success(
                request,
                _("%(number)s received: %(qty)s %(unit)s of %(sku)s.")
                % {
                    "number": done.number,
                    "qty": quantity_text(values["quantity"]),
                    "unit": receipt.item.unit,
                    "sku": receipt.item.sku,
                },
            )
            return redirect(reverse("inventory:receipt", args=[done.number]))
    return _flow_page(request, "inventory/receive.html", form, error=error, receipt=receipt)


@role_required(RECEIVE)
def receipt_page(request: HttpRequest, number: str) -> HttpResponse:
    """One receipt on the tablet, with its next step: inspect it or put it away."""
    receipt = _receipt_or_404(number)
    return _render_receipt(request, receipt)


def _render_receipt(
    request: HttpRequest,
    receipt: ExpectedReceipt,
    inspect_form: InspectForm | None = None,
    error: str = "",
) -> HttpResponse:
    form = inspect_form or InspectForm(reason_choices=reason_code_choices())
    return render(
        request,
        "inventory/receipt.html",
        {
            "receipt": receipt,
            "inspect_form": form,
            "flow_error": error,
            "state_badge": RECEIPT_STATE_BADGES.get(receipt.state, "text-bg-secondary"),
        },
    )


@role_required(RECEIVE)
@require_POST
def receipt_inspect_page(request: HttpRequest, number: str) -> HttpResponse:
    receipt = _receipt_or_404(number)
    form = InspectForm(request.POST, reason_choices=reason_code_choices())
    form.is_valid()
    accepted = request.POST.get("decision") == "accept"
    if request.POST.get("decision") not in {"accept", "reject"}:
        form.add_error(None, _("Accept or reject the goods."))
        return _render_receipt(request, receipt, form)
    try:
        done = receipt_inspect(
            receipt=receipt,
            actor=request.user,
            accepted=accepted,
            note=form.cleaned_data.get("note", ""),
            reason_code=form.cleaned_data.get("reason_code") or None,
        )
    except DomainError as exc:
        add_service_errors(form, exc)
        return _render_receipt(request, _receipt_or_404(number), form, exc.message)
    if accepted:
        messages.success(request, _("%(number)s accepted: put it away.") % {"number": done.number})
    else:
        messages.warning(
            request,
            _("%(number)s rejected: the goods are in quarantine.") % {"number": done.number},
        )
    return redirect(reverse("inventory:receipt", args=[done.number]))


@role_required(RECEIVE)
def receipt_put_away_page(request: HttpRequest, number: str) -> HttpResponse:
    receipt = _receipt_or_404(number)
    form = PutAwayForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid() and form.complete:
        try:
            done = receipt_put_away(
                receipt=receipt, to_location=form.values["to_location"], actor=request.user
            )
        except DomainError as exc:
            form.add_refusal(exc)
            error = exc.message
        else:
            messages.success(
                request,
                _("%(number)s put away at %(location)s.")
                % {"number": done.number, "location": form.values["to_location"].code},
            )
            return redirect(reverse("inventory:put_away"))
    return _flow_page(request, "inventory/put_away.html", form, error=error, receipt=receipt)


# --- tablet: move, scrap, count --------------------------------------------------------


@role_required(MOVE)
def move(request: HttpRequest) -> HttpResponse:
    form = MoveForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid() and form.complete:
        v = form.values
        try:
            stock_transfer(
                item=v["item"],
                from_location=v["from_location"],
                to_location=v["to_location"],
                quantity=v["quantity"],
                actor=request.user,
                lot=v.get("lot"),
            )
        except DomainError as exc:
            form.add_refusal(exc)
            error = exc.message
        else:
            messages.success(
                request,
                _("Moved %(qty)s %(unit)s of %(stock)s from %(from)s to %(to)s.")
                % {
                    "qty": quantity_text(v["quantity"]),
                    "unit": v["item"].unit,
                    "stock": _stock_label(v["item"], v.get("lot")),
                    "from": v["from_location"].code,
                    "to": v["to_location"].code,
                },
            )
            return redirect(reverse("inventory:move"))
    return _flow_page(request, "inventory/move.html", form, error=error)


@role_required(MOVE)
def scrap(request: HttpRequest) -> HttpResponse:
    form = ScrapForm(request.POST or None, reason_choices=reason_code_choices())
    error = ""
    if request.method == "POST" and form.is_valid() and form.complete:
        v = form.values
        try:
            stock_scrap(
                item=v["item"],
                location=v["location"],
                quantity=v["quantity"],
                actor=request.user,
                reason_code=v["reason_code"],
                note=v.get("note") or "",
                lot=v.get("lot"),
            )
        except DomainError as exc:
            form.add_refusal(exc)
            error = exc.message
        else:
            messages.success(
                request,
                _("Scrapped %(qty)s %(unit)s of %(stock)s at %(location)s.")
                % {
                    "qty": quantity_text(v["quantity"]),
                    "unit": v["item"].unit,
                    "stock": _stock_label(v["item"], v.get("lot")),
                    "location": v["location"].code,
                },
            )
            return redirect(reverse("inventory:scrap"))
    return _flow_page(request, "inventory/scrap.html", form, error=error)


@role_required(COUNT)
def count(request: HttpRequest) -> HttpResponse:
    form = CountForm(request.POST or None, reason_choices=reason_code_choices())
    error = ""
    if request.method == "POST" and form.is_valid() and form.complete:
        v = form.values
        try:
            counted = cycle_count_record(
                item=v["item"],
                location=v["location"],
                counted_quantity=v["counted_quantity"],
                actor=request.user,
                reason_code=v.get("reason_code") or None,
                note=v.get("note") or "",
                lot=v.get("lot"),
            )
        except DomainError as exc:
            form.add_refusal(exc)
            error = exc.message
        else:
            difference = counted.counted_quantity - counted.system_quantity
            if difference:
                text = _("Counted %(qty)s %(unit)s of %(stock)s at %(location)s: %(diff)s booked.")
            else:
                text = _("Counted %(qty)s %(unit)s of %(stock)s at %(location)s: as booked.")
            messages.success(
                request,
                text
                % {
                    "qty": quantity_text(counted.counted_quantity),
                    "unit": v["item"].unit,
                    "stock": _stock_label(v["item"], v.get("lot")),
                    "location": v["location"].code,
                    "diff": f"{'+' if difference > 0 else ''}{quantity_text(difference)}",
                },
            )
            return redirect(reverse("inventory:count"))
    return _flow_page(request, "inventory/count.html", form, error=error)


# --- tablet: kits ----------------------------------------------------------------------


@role_required(PICK)
@require_GET
def pick_kits(request: HttpRequest) -> HttpResponse:
    """Kits waiting for a picker, oldest first; staged kits wait to be issued."""
    kits = (
        Kit.objects.filter(state__in=OPEN_KIT_STATES)
        .select_related("staging_location")
        .order_by("created_at", "id")
    )
    page = Paginator(kits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/pick_kits.html",
        {"page_obj": page, "kits": page.object_list},
    )


def _kit_or_404(number: str) -> Kit:
    kit = Kit.objects.select_related("staging_location").filter(number=number).first()
    if kit is None:
        raise Http404
    return kit


def _render_kit(
    request: HttpRequest, kit: Kit, form: PickForm | None = None, error: str = ""
) -> HttpResponse:
    lines = kit_pick_list(kit=kit)
    if form is None:
        form = PickForm(pick_lines=lines)
    else:
        form.pick_lines = lines
    form.prime()
    if error:
        form.drop_field_error(error)
    picking = kit.state in (Kit.State.OPEN, Kit.State.PICKING)
    return render(
        request,
        "inventory/kit_pick.html",
        {
            "kit": kit,
            "lines": lines,
            "at_staging": [
                r
                for r in selectors.reservations_for_demand(
                    demand_type=DemandType.WORK_ORDER, demand_id=kit.work_order_id
                )
                if r.location_id == kit.staging_location_id and r.state == r.State.ACTIVE
            ],
            "all_picked": picking and not lines,
            "form": form,
            "flow_error": error,
            "state_badge": KIT_STATE_BADGES.get(kit.state, "text-bg-secondary"),
            "may_pick": picking,
        },
    )


@role_required(PICK)
def kit_pick_page(request: HttpRequest, number: str) -> HttpResponse:
    """The pick list in walking order and one scan field: location, item, lot, quantity.
    A wrong scan is refused in red and counted on the kit."""
    kit = _kit_or_404(number)
    if request.method != "POST":
        return _render_kit(request, kit)
    form = PickForm(request.POST, pick_lines=kit_pick_list(kit=kit))
    if not (form.is_valid() and form.complete):
        return _render_kit(request, kit, form)
    v = form.values
    try:
        move_done = kit_pick(
            kit=kit,
            actor=request.user,
            location_code=v["location_code"],
            item_code=v["item_code"],
            lot_code=v.get("lot_code") or "",
            quantity=v["quantity"],
        )
    except DomainError as exc:
        kit = _kit_or_404(number)  # the refusal is counted on the kit
        add_service_errors(form, exc)
        form.restart()
        return _render_kit(request, kit, form, exc.message)
    messages.success(
        request,
        _("Picked %(qty)s %(unit)s of %(stock)s.")
        % {
            "qty": quantity_text(move_done.quantity),
            "unit": move_done.item.unit,
            "stock": _stock_label(move_done.item, move_done.lot),
        },
    )
    return redirect(reverse("inventory:kit_pick", args=[kit.number]))


@role_required(PICK)
@require_POST
def kit_stage_page(request: HttpRequest, number: str) -> HttpResponse:
    kit = _kit_or_404(number)
    try:
        done = kit_stage(kit=kit, actor=request.user)
    except DomainError as exc:
        return _render_kit(request, _kit_or_404(number), error=exc.message)
    messages.success(
        request,
        _("%(kit)s is staged at %(location)s for %(wo)s.")
        % {"kit": done.number, "location": kit.staging_location.code, "wo": done.work_order_ref},
    )
    return redirect(reverse("inventory:kit_pick", args=[kit.number]))


@role_required(PICK)
@require_POST
def kit_issue_page(request: HttpRequest, number: str) -> HttpResponse:
    kit = _kit_or_404(number)
    try:
        done = kit_issue(kit=kit, actor=request.user)
    except DomainError as exc:
        return _render_kit(request, _kit_or_404(number), error=exc.message)
    messages.success(
        request,
        _("%(kit)s is issued to %(wo)s.") % {"kit": done.number, "wo": done.work_order_ref},
    )
    return redirect(reverse("inventory:pick_kits"))


# --- desktop: stock and the ledger ------------------------------------------------------


def _stock_rows(filters: dict[str, Any]) -> QuerySet[Any]:
    rows = selectors.balances(available_only=filters["available_only"])
    if filters["item"]:
        rows = rows.filter(
            Q(item__sku__iexact=filters["item"])
            | Q(item__name__icontains=filters["item"])
            | Q(item__sku__istartswith=filters["item"])
        )
    if filters["location"]:
        rows = rows.filter(
            Q(location__code__istartswith=filters["location"])
            | Q(location__barcode=filters["location"])
        )
    if filters["lot"]:
        rows = rows.filter(
            Q(lot__number__istartswith=filters["lot"]) | Q(lot__supplier_lot=filters["lot"])
        )
    if filters["location_type"]:
        rows = rows.filter(location__type=filters["location_type"])
    return rows


@role_required(VIEW_STOCK)
@require_GET
def stock(request: HttpRequest) -> HttpResponse:
    """Stock by item x location x lot; filter by item, location, lot, location type and
    usable stock only."""
    form = StockFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(_stock_rows(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "rows": page.object_list,
        "is_filtered": any(filters.values()),
    }
    return render_maybe_partial(
        request, "inventory/stock.html", "inventory/_stock_table.html", context
    )


@role_required(VIEW_STOCK, VIEW_LEDGER)
@require_GET
def item_page(request: HttpRequest, sku: str) -> HttpResponse:
    """An item's stock across all locations and its ledger, newest first."""
    item = get_object_or_404(Item, sku=sku)
    page = Paginator(selectors.item_ledger(item=item), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "item": item,
        "summary": selectors.item_balance_summary(item=item),
        "balances": selectors.balances(item=item),
        "page_obj": page,
        "moves": page.object_list,
    }
    return render_maybe_partial(
        request, "inventory/item.html", "inventory/_ledger_table.html", context
    )


# --- desktop: receipts ------------------------------------------------------------------


def _receipt_rows(filters: dict[str, str]) -> QuerySet[ExpectedReceipt]:
    today = timezone.localdate()
    rows = ExpectedReceipt.objects.select_related("item", "lot", "location")
    show = filters["show"]
    if show == "open":
        rows = rows.filter(state=ExpectedReceipt.State.EXPECTED)
    elif show == "late":
        rows = rows.filter(state=ExpectedReceipt.State.EXPECTED, expected_date__lt=today)
    elif show == "received":
        rows = rows.filter(
            state__in=[ExpectedReceipt.State.RECEIVED, ExpectedReceipt.State.INSPECTED]
        )
    if filters["q"]:
        q = filters["q"]
        rows = rows.filter(
            Q(number__iexact=q)
            | Q(po_number__iexact=q)
            | Q(supplier__icontains=q)
            | Q(item__sku__iexact=q)
        )
    return rows.order_by("expected_date", "id")


@role_required(VIEW_RECEIPTS)
@require_GET
def receipts(request: HttpRequest) -> HttpResponse:
    """Receipts due and late (past their date, not arrived), or those waiting for
    inspection and put-away."""
    form = ReceiptFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {"show": "open", "q": ""}
    page = Paginator(_receipt_rows(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "receipts": page.object_list,
        "today": timezone.localdate(),
    }
    return render_maybe_partial(
        request, "inventory/receipts.html", "inventory/_receipts_table.html", context
    )


# --- desktop: kits ----------------------------------------------------------------------


@role_required(VIEW_KITS)
@require_GET
def kits(request: HttpRequest) -> HttpResponse:
    form = KitFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {"state": "", "q": ""}
    rows = Kit.objects.select_related("staging_location").order_by("-id")
    if filters["state"] == "":
        rows = rows.filter(state__in=OPEN_KIT_STATES)
    elif filters["state"] != "all":
        rows = rows.filter(state=filters["state"])
    if filters["q"]:
        rows = rows.filter(
            Q(number__iexact=filters["q"]) | Q(work_order_ref__icontains=filters["q"])
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "kits": page.object_list,
    }
    return render_maybe_partial(
        request, "inventory/kits.html", "inventory/_kits_table.html", context
    )


# --- desktop: quality holds -------------------------------------------------------------


def _render_holds(
    request: HttpRequest,
    *,
    place_form: HoldPlaceForm | None = None,
    release_forms: dict[int, HoldReleaseForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    form = HoldFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {"state": ""}
    rows = selectors.holds_list(active_only=filters["state"] == "")
    if filters["state"] == "released":
        rows = rows.filter(state=QualityHold.State.RELEASED)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    may_place = user.has_perm(PLACE_HOLD)
    may_release = user.has_perm(RELEASE_HOLD)
    reasons = reason_code_choices() if (may_place or may_release) else []
    release_forms = release_forms or {}
    hold_rows = [
        {
            "hold": hold,
            "release_form": release_forms.get(hold.pk)
            or HoldReleaseForm(reason_choices=reasons, auto_id=f"release{hold.pk}_%s"),
            "release_open": hold.pk in release_forms,
        }
        for hold in page.object_list
    ]
    context = {
        "filter_form": form,
        "page_obj": page,
        "rows": hold_rows,
        "may_place": may_place,
        "may_release": may_release,
        "place_form": place_form
        or HoldPlaceForm(reason_choices=reasons, auto_id="hold_%s", initial={"scope": "lot"}),
        "place_open": place_form is not None,
    }
    if status == 200:
        return render_maybe_partial(
            request, "inventory/holds.html", "inventory/_holds_table.html", context
        )
    return render(request, "inventory/holds.html", context, status=status)


@role_required(VIEW_HOLDS)
@require_GET
def holds(request: HttpRequest) -> HttpResponse:
    """Quality holds, active first; Quality places and releases them here."""
    return _render_holds(request)


@role_required(VIEW_HOLDS, PLACE_HOLD)
@require_POST
def hold_place_page(request: HttpRequest) -> HttpResponse:
    form = HoldPlaceForm(request.POST, reason_choices=reason_code_choices(), auto_id="hold_%s")
    if form.is_valid():
        data = form.cleaned_data
        scope = data["scope"]
        # Only what the scope names: the other fields of the form may still hold text.
        covers: dict[str, Any] = {
            QualityHold.Scope.LOT: {"lot": data.get("lot")},
            QualityHold.Scope.LOCATION: {"location": data.get("location")},
            QualityHold.Scope.WORK_ORDER: {
                "work_order_id": data.get("work_order_id"),
                "work_order_ref": data.get("work_order_ref") or "",
            },
        }[scope]
        try:
            hold = hold_place(
                scope=scope,
                actor=request.user,
                reason_code=data.get("reason_code") or None,
                note=data.get("note") or "",
                **covers,
            )
        except DomainError as exc:
            add_service_errors(form, exc)
            if exc.errors:
                messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Hold %(hold)s placed on %(covers)s.")
                % {"hold": hold.number, "covers": hold.covers},
            )
            return redirect(reverse("inventory:holds"))
    return _render_holds(request, place_form=form, status=400)


@role_required(VIEW_HOLDS, RELEASE_HOLD)
@require_POST
def hold_release_page(request: HttpRequest, number: str) -> HttpResponse:
    hold = get_object_or_404(QualityHold, number=number)
    form = HoldReleaseForm(
        request.POST, reason_choices=reason_code_choices(), auto_id=f"release{hold.pk}_%s"
    )
    form.is_valid()
    try:
        done = hold_release(
            hold=hold,
            actor=request.user,
            reason_code=form.cleaned_data.get("reason_code") or None,
            note=form.cleaned_data.get("note") or "",
        )
    except DomainError as exc:
        add_service_errors(form, exc)
        messages.error(request, exc.message)
        return _render_holds(request, release_forms={hold.pk: form}, status=400)
    messages.success(
        request,
        _("Hold %(hold)s released on %(covers)s.") % {"hold": done.number, "covers": done.covers},
    )
    return redirect(reverse("inventory:holds"))


# --- desktop: trace ---------------------------------------------------------------------


@role_required(VIEW_TRACE)
@require_GET
def trace(request: HttpRequest) -> HttpResponse:
    """Find a lot to trace by its number (or the supplier's), optionally with the SKU."""
    form = TraceSearchForm(request.GET or None)
    found: list[Lot] = []
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["lot"].strip()
        sku = form.cleaned_data["item"].strip()
        if code:
            if sku:
                item = Item.objects.filter(sku=sku).first()
                lot = lot_by_scan(item, code) if item else None
                found = [lot] if lot else []
            else:
                found = list(
                    Lot.objects.filter(Q(number=code) | Q(supplier_lot=code))
                    .select_related("item")
                    .order_by("item__sku", "number")[:PAGE_SIZE]
                )
            if len(found) == 1:
                return redirect(reverse("inventory:trace_lot", args=[found[0].pk]))
            if not found:
                form.add_error("lot", _("No lot “%(code)s” found.") % {"code": code})
    return render(request, "inventory/trace_search.html", {"form": form, "found": found})


@role_required(VIEW_TRACE)
@require_GET
def trace_lot(request: HttpRequest, lot_id: int) -> HttpResponse:
    """Backward (what went into the lot, down to supplier lots) and forward (work orders,
    finished lots, shipments and customers), each node linked to its own trace."""
    lot = get_object_or_404(Lot.objects.select_related("item"), pk=lot_id)
    return render(
        request,
        "inventory/trace.html",
        {
            "lot": lot,
            "backward": trace_backward(lot=lot),
            "forward": trace_forward(lot=lot),
            "search_form": TraceSearchForm(initial={"lot": lot.number, "item": lot.item.sku}),
        },
    )


# --- helpers ----------------------------------------------------------------------------


def _stock_label(item: Item, lot: Lot | None) -> str:
    return f"{item.sku} lot {lot.number}" if lot is not None else item.sku
