"""Today's must-ship board: every open order line due today or tomorrow (or overdue),
how ready it is (produced, kitted, picked, packed, documented), what puts it at risk (an
operation late, material short, a quality hold, a work center down, an open exception,
an order or shipment on hold) linked to the record, and the day's constrained work
centers. One page every function sees, read in a fixed number of queries whatever the
number of lines: each query below covers all the lines of the page at once."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mes.core.formatting import quantity_text

from .models import OPEN_STATES as SHIPMENT_OPEN_STATES
from .models import S, Shipment, ShipmentLine

ZERO = Decimal("0")
# Order states whose lines still have to leave (draft is not a promise yet).
MUST_SHIP_ORDER_STATES = [
    "confirmed",
    "in_production",
    "ready_to_ship",
    "partially_shipped",
    "on_hold",
]
# A work center loaded this much of today's capacity is a constraint of the day.
CONSTRAINED_PERCENT = 90
DUE_FILTERS = ("all", "today", "tomorrow")
# Stock a stock line can be served from (not receiving, WIP or quarantine).
SERVING_LOCATION_TYPES = ["stock", "staging", "line_side", "shipping"]
# What the board reads of a line, its order, customer and item.
LINE_FIELDS = (
    "order_id",
    "line_no",
    "item_id",
    "quantity",
    "shipped_quantity",
    "promise_date",
    "requested_date",
    "order__number",
    "order__state",
    "order__held_from_state",
    "order__priority",
    "order__customer_id",
    "order__customer__name",
    "item__sku",
    "item__name",
    "item__unit",
)
RISK_KINDS = (
    "operation_late",
    "material_short",
    "quality_hold",
    "work_center_down",
    "on_hold",
    "exception",
)


# Pages this board links whose URL takes one argument (a number or a code).
_ONE_ARG = frozenset(
    {
        "orders:detail",
        "planning:work_order",
        "planning:dispatch",
        "exceptions:detail",
        "shipping:shipment",
    }
)
_LINK_ARG = "mslinkarg"


@lru_cache(maxsize=64)
def _link_pattern(name: str, prefix: str, urlconf: str | None) -> str:
    """The URL of `name` with a stand-in for its argument, reversed once per process (a
    page of 100 lines links a few hundred records); "" while no such page exists."""
    try:
        return reverse(name, urlconf=urlconf, args=[_LINK_ARG] if name in _ONE_ARG else None)
    except NoReverseMatch:
        return ""


def _url(name: str, *args: Any, query: dict[str, str] | None = None) -> str:
    """The record's page, or "" while that page does not exist (the risk shows unlinked)."""
    pattern = _link_pattern(name, get_script_prefix(), get_urlconf())
    if not pattern:
        return ""
    url = pattern.replace(_LINK_ARG, quote(str(args[0]), safe="")) if args else pattern
    return f"{url}?{urlencode(query)}" if query else url


def _some(ids: Any) -> list[int]:
    """The ids, or one no row has: an empty list would skip the query, and the board
    runs the same queries on every page, whatever is on it."""
    return list(ids) or [0]


@lru_cache(maxsize=16)
def _words(language: str | None) -> dict[str, str]:
    """The board's repeated words, translated once per language (a page shows each
    of them hundreds of times)."""
    return {
        "produced": _("produced"),
        "kitted": _("kitted"),
        "picked": _("picked"),
        "packed": _("packed"),
        "documented": _("documented"),
        "yes": _("done"),
        "no": _("not yet"),
        "na": _("does not apply"),
        "operation_late": _("late"),
        "material_short": _("material"),
        "quality_hold": _("quality hold"),
        "work_center_down": _("down"),
        "on_hold": _("on hold"),
        "exception": _("exception"),
    }


@dataclass
class Risk:
    kind: str  # one of RISK_KINDS
    message: str
    link: str = ""

    @property
    def label(self) -> str:
        return _words(get_language())[self.kind]


_BADGES = {
    "yes": "text-bg-success",
    "no": "text-bg-light border",
    "na": "text-bg-light border text-body-secondary",
}
_MARKS = {"yes": "✓", "no": "✗", "na": "–"}


@dataclass(frozen=True, slots=True)
class Step:
    """One readiness tick as the page shows it; state yes, no or na (does not apply)."""

    key: str
    label: str
    state: str
    badge: str
    mark: str
    spoken: str

    @property
    def done(self) -> bool | None:
        return None if self.state == "na" else self.state == "yes"

    @classmethod
    def of(cls, key: str, done: bool | None, words: dict[str, str]) -> Step:
        state = "na" if done is None else "yes" if done else "no"
        return cls(key, words[key], state, _BADGES[state], _MARKS[state], words[state])


@dataclass
class MustShipRow:
    line: Any
    order: Any
    due: dt.date
    open_quantity: Decimal
    produced: bool
    kitted: bool | None  # None: nothing to kit (from stock, or a work order without a kit)
    picked: Decimal
    packed: bool
    documented: bool
    gone: bool
    overdue: bool = False
    order_url: str = ""
    shipments: list[Any] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    work_order: Any = None
    work_order_url: str = ""

    @property
    def is_picked(self) -> bool:
        return self.gone or (self.open_quantity > 0 and self.picked >= self.open_quantity)

    @property
    def readiness(self) -> list[Step]:
        words = _words(get_language())
        return [
            Step.of("produced", self.produced, words),
            Step.of("kitted", self.kitted, words),
            Step.of("picked", self.is_picked, words),
            Step.of("packed", self.packed, words),
            Step.of("documented", self.documented, words),
        ]

    @property
    def status(self) -> str:
        """gone, at_risk, ready (documented, waiting for the truck) or on_track."""
        if self.gone:
            return "gone"
        if self.risks:
            return "at_risk"
        if self.documented:
            return "ready"
        return "on_track"


@dataclass
class MustShipBoard:
    today: dt.date
    due: str
    rows: list[MustShipRow]
    total: int
    page: int
    pages: int
    per_page: int
    constrained: list[dict[str, Any]]
    # Over every line on the board: overdue, today, tomorrow, gone. Over this page's
    # rows: at_risk, ready (they need the per-line picture).
    counts: dict[str, int]

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _lines_queryset(*, today: dt.date) -> Any:
    """Lines due up to tomorrow that still have to leave, or that left in full today."""
    from orders.models import SalesOrderLine

    tomorrow = today + dt.timedelta(days=1)
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=timezone.get_current_timezone())
    gone_today = ShipmentLine.objects.filter(
        shipment__handed_over_at__gte=day_start,
        shipment__state__in=[S.HANDED_OVER, S.DELIVERED],
    ).values("sales_order_line_id")
    return (
        SalesOrderLine.objects.annotate(due=Coalesce("promise_date", "requested_date"))
        .filter(due__lte=tomorrow)
        .filter(
            Q(order__state__in=MUST_SHIP_ORDER_STATES, shipped_quantity__lt=F("quantity"))
            | Q(shipped_quantity__gte=F("quantity"), pk__in=gone_today)
        )
    )


def must_ship_board(
    *, today: dt.date | None = None, page: int = 1, per_page: int = 100, due: str = "all"
) -> MustShipBoard:
    """Lines promised up to tomorrow (and overdue), most urgent first, a page at a time."""
    from exceptions.models import UNRESOLVED_STATES, PlantException
    from inventory.models import Kit, QualityHold, Reservation, StockBalance
    from orders.models import SalesOrder
    from planning.models import OP_OPEN_STATES, Operation, WorkCenter, WorkOrder

    today = today or timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    due = due if due in DUE_FILTERS else "all"
    now = timezone.now()

    base = _lines_queryset(today=today)
    tally = base.aggregate(
        overdue=Count("pk", filter=Q(due__lt=today)),
        today=Count("pk", filter=Q(due=today)),
        tomorrow=Count("pk", filter=Q(due=tomorrow)),
        gone=Count("pk", filter=Q(shipped_quantity__gte=F("quantity"))),
    )
    lines_qs = base
    if due == "today":
        lines_qs = lines_qs.filter(due__lte=today)
        total = tally["overdue"] + tally["today"]
    elif due == "tomorrow":
        lines_qs = lines_qs.filter(due=tomorrow)
        total = tally["tomorrow"]
    else:
        total = tally["overdue"] + tally["today"] + tally["tomorrow"]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    lines = list(
        lines_qs.select_related("order__customer", "item")
        .only(*LINE_FIELDS)
        .order_by("due", "order__priority", "order__number", "line_no")[
            (page - 1) * per_page : page * per_page
        ]
    )
    line_ids = [line.pk for line in lines]
    order_ids = {line.order_id for line in lines}

    # The shipments these lines are on (still open: what left is in shipped_quantity).
    shipment_lines: dict[int, list[ShipmentLine]] = {}
    for sl in ShipmentLine.objects.filter(
        sales_order_line_id__in=_some(line_ids), shipment__state__in=SHIPMENT_OPEN_STATES
    ).select_related("shipment"):
        shipment_lines.setdefault(sl.sales_order_line_id, []).append(sl)
    shipment_ids = {sl.shipment_id for sls in shipment_lines.values() for sl in sls}

    # The work order making each line, with its operations' picture in one query.
    open_ops = Operation.objects.filter(work_order=OuterRef("pk"), state__in=OP_OPEN_STATES)
    live_kit = (
        Kit.objects.filter(work_order_id=OuterRef("pk"))
        .exclude(state=Kit.State.CANCELLED)
        .order_by("-id")
    )
    work_orders: dict[int, Any] = {}
    for wo in (
        WorkOrder.objects.filter(sales_order_line_id__in=_some(line_ids))
        .exclude(state="cancelled")
        .annotate(
            last_end=Subquery(
                open_ops.order_by()
                .values("work_order")
                .annotate(last=Max("scheduled_end"))
                .values("last")[:1]
            ),
            behind_op=Subquery(
                open_ops.filter(scheduled_end__lt=now).order_by("sequence").values("name")[:1]
            ),
            down_center=Subquery(
                open_ops.filter(work_center__status=WorkCenter.Status.DOWN)
                .order_by("sequence")
                .values("work_center__code")[:1]
            ),
            kit_state=Subquery(live_kit.values("state")[:1]),
            kit_number=Subquery(live_kit.values("number")[:1]),
        )
        .only("pk", "number", "state", "sales_order_line_id", "quantity", "scheduled_end")
        .order_by("-id")
    ):
        work_orders.setdefault(wo.sales_order_line_id, wo)
    wo_ids = [wo.pk for wo in work_orders.values()]
    # Reservations of the work orders and shipments: the lots and places holds may cover,
    # and the stock already set aside for each shipment line.
    reservations = list(
        Reservation.objects.filter(
            Q(demand_type="work_order", demand_id__in=_some(wo_ids))
            | Q(demand_type="shipment", demand_id__in=_some(shipment_ids))
        )
        .exclude(state=Reservation.State.RELEASED)
        .values_list(
            "demand_type",
            "demand_id",
            "demand_line",
            "lot_id",
            "location_id",
            "state",
            "quantity",
            "quantity_consumed",
        )
    )
    lot_ids = {r[3] for r in reservations if r[3]}
    location_ids = {r[4] for r in reservations if r[5] == Reservation.State.ACTIVE}
    holds = list(
        QualityHold.objects.filter(state=QualityHold.State.ACTIVE)
        .filter(
            Q(scope=QualityHold.Scope.WORK_ORDER, work_order_id__in=_some(wo_ids))
            | Q(scope=QualityHold.Scope.LOT, lot_id__in=_some(lot_ids))
            | Q(scope=QualityHold.Scope.LOCATION, location_id__in=_some(location_ids))
        )
        .select_related("lot__item", "location")
    )
    holds_on_wo: dict[int, list[Any]] = {}
    holds_on_lot: dict[int, list[Any]] = {}
    holds_on_location: dict[int, list[Any]] = {}
    for hold in holds:
        if hold.scope == QualityHold.Scope.WORK_ORDER:
            holds_on_wo.setdefault(hold.work_order_id, []).append(hold)
        elif hold.scope == QualityHold.Scope.LOT:
            holds_on_lot.setdefault(hold.lot_id, []).append(hold)
        else:
            holds_on_location.setdefault(hold.location_id, []).append(hold)
    held_by_demand: dict[tuple[str, int], dict[int, Any]] = {}
    set_aside: dict[int, Decimal] = {}  # shipment line id: reserved, not yet picked
    for demand_type, demand_id, demand_line, lot_id, location_id, state, qty, used in reservations:
        found = holds_on_lot.get(lot_id, []) if lot_id else []
        if state == Reservation.State.ACTIVE:
            found = found + holds_on_location.get(location_id, [])
            if demand_type == "shipment" and demand_line:
                set_aside[demand_line] = set_aside.get(demand_line, ZERO) + qty - used
        for hold in found:
            held_by_demand.setdefault((demand_type, demand_id), {})[hold.pk] = hold

    # Stock free to serve the lines made to stock or bought (not held, not quarantined).
    available: dict[int, Decimal] = {
        item_id: total or ZERO
        for item_id, total in StockBalance.objects.filter(
            item_id__in=_some({line.item_id for line in lines}),
            available__gt=0,
            location__type__in=SERVING_LOCATION_TYPES,
            location__active=True,
        )
        .exclude(lot__holds__state=QualityHold.State.ACTIVE)
        .exclude(location__holds__state=QualityHold.State.ACTIVE)
        .values("item_id")
        .annotate(total=Sum("available"))
        .order_by()
        .values_list("item_id", "total")
    }

    # Open exceptions on these orders, work orders and shipments.
    cts = ContentType.objects.get_for_models(SalesOrder, WorkOrder, Shipment)
    order_ct, wo_ct, shipment_ct = cts[SalesOrder].pk, cts[WorkOrder].pk, cts[Shipment].pk
    exceptions_by: dict[tuple[int, int], list[Any]] = {}
    for exc in (
        PlantException.objects.filter(state__in=UNRESOLVED_STATES)
        .filter(
            Q(content_type_id=order_ct, object_id__in=_some(order_ids))
            | Q(content_type_id=wo_ct, object_id__in=_some(wo_ids))
            | Q(content_type_id=shipment_ct, object_id__in=_some(shipment_ids))
        )
        .only("pk", "number", "title", "state", "content_type_id", "object_id", "severity")
        .order_by("id")
    ):
        exceptions_by.setdefault((exc.content_type_id, exc.object_id), []).append(exc)

    rows = [
        _row(
            line,
            today=today,
            sls=shipment_lines.get(line.pk, []),
            wo=work_orders.get(line.pk),
            set_aside=set_aside,
            available=available,
            held_by_demand=held_by_demand,
            holds_on_wo=holds_on_wo,
            exceptions_by=exceptions_by,
            cts=(order_ct, wo_ct, shipment_ct),
        )
        for line in lines
    ]
    counts = {
        "overdue": tally["overdue"],
        "today": tally["today"],
        "tomorrow": tally["tomorrow"],
        "gone": tally["gone"],
        "lines": total,
        "at_risk": sum(1 for row in rows if row.status == "at_risk"),
        "ready": sum(1 for row in rows if row.status == "ready"),
    }
    constrained = constrained_resources(today=today)
    counts["constrained"] = len(constrained)
    return MustShipBoard(
        today=today,
        due=due,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
        constrained=constrained,
        counts=counts,
    )


def _effective_state(shipment: Shipment) -> str:
    """Where a held shipment had got to before its hold."""
    if shipment.state == S.ON_HOLD:
        return shipment.held_from_state or S.PLANNED
    return shipment.state


def _row(
    line: Any,
    *,
    today: dt.date,
    sls: list[ShipmentLine],
    wo: Any,
    set_aside: dict[int, Decimal],
    available: dict[int, Decimal],
    held_by_demand: dict[tuple[str, int], dict[int, Any]],
    holds_on_wo: dict[int, list[Any]],
    exceptions_by: dict[tuple[int, int], list[Any]],
    cts: tuple[int, int, int],
) -> MustShipRow:
    """One line's readiness and risks from the page's pre-read picture."""
    order_ct, wo_ct, shipment_ct = cts
    order = line.order
    kit = (wo.kit_state, wo.kit_number) if wo is not None and wo.kit_state else None
    open_quantity = line.quantity - line.shipped_quantity
    gone = open_quantity <= 0
    picked = sum((sl.quantity_picked for sl in sls), ZERO)
    packed_qty = sum(
        (
            sl.quantity_picked
            for sl in sls
            if _effective_state(sl.shipment) in {S.PACKED, S.DOCUMENTED}
        ),
        ZERO,
    )
    documented_qty = sum(
        (sl.quantity_picked for sl in sls if _effective_state(sl.shipment) == S.DOCUMENTED),
        ZERO,
    )
    kitted: bool | None = None
    if gone:
        produced = True
    elif wo is not None:
        produced = wo.state in {"completed", "closed"} or picked >= open_quantity
        if kit is not None:
            kitted = kit[0] in {"staged", "issued"}
    else:
        # Picked, set aside on a shipment, then free stock, handed out in board order.
        need = open_quantity - picked - sum((set_aside.get(sl.pk, ZERO) for sl in sls), ZERO)
        free = available.get(line.item_id, ZERO)
        take = min(max(need, ZERO), free)
        available[line.item_id] = free - take
        produced = take >= need
        shortfall = need - take
    row = MustShipRow(
        line=line,
        order=order,
        due=line.due,
        open_quantity=max(open_quantity, ZERO),
        produced=produced,
        kitted=True if gone and kitted is not None else kitted,
        picked=picked,
        packed=gone or (open_quantity > 0 and packed_qty >= open_quantity),
        documented=gone or (open_quantity > 0 and documented_qty >= open_quantity),
        gone=gone,
        overdue=not gone and line.due < today,
        order_url=_url("orders:detail", order.number),
        shipments=[sl.shipment for sl in sls],
        work_order=wo,
        work_order_url=_url("planning:work_order", wo.number) if wo is not None else "",
    )
    if gone:
        return row
    risks = row.risks
    if order.state == "on_hold":
        risks.append(
            Risk(
                "on_hold",
                _("order %(order)s is on hold") % {"order": order.number},
                row.order_url,
            )
        )
    for sl in sls:
        if sl.shipment.state == S.ON_HOLD:
            risks.append(
                Risk(
                    "on_hold",
                    _("shipment %(shipment)s is on hold") % {"shipment": sl.shipment.number},
                    _url("shipping:shipment", sl.shipment.number),
                )
            )
    if wo is not None and not produced:
        due_end = dt.datetime.combine(
            line.due + dt.timedelta(days=1), dt.time(0), tzinfo=timezone.get_current_timezone()
        )
        if wo.last_end and wo.last_end > due_end:
            risks.append(
                Risk(
                    "operation_late",
                    _("%(wo)s finishes %(date)s, after the promise date")
                    % {"wo": wo.number, "date": timezone.localdate(wo.last_end).isoformat()},
                    row.work_order_url,
                )
            )
        elif wo.behind_op:
            risks.append(
                Risk(
                    "operation_late",
                    _("%(wo)s: %(op)s is behind its schedule")
                    % {"wo": wo.number, "op": wo.behind_op},
                    row.work_order_url,
                )
            )
        if wo.down_center:
            risks.append(
                Risk(
                    "work_center_down",
                    _("%(wc)s is down (%(wo)s)") % {"wc": wo.down_center, "wo": wo.number},
                    _url("planning:dispatch", wo.down_center),
                )
            )
        if kit is not None and kitted is False and wo.state in {"planned", "released", "on_hold"}:
            risks.append(
                Risk(
                    "material_short",
                    _("kit %(kit)s of %(wo)s not staged") % {"kit": kit[1], "wo": wo.number},
                    _url("inventory:kits", query={"q": kit[1], "state": "all"}),
                )
            )
    elif wo is None and not produced:
        risks.append(
            Risk(
                "material_short",
                _("%(short)s %(unit)s of %(item)s missing: not in stock or set aside")
                % {
                    "short": quantity_text(shortfall),
                    "unit": line.item.unit,
                    "item": line.item.sku,
                },
                _url("inventory:stock", query={"item": line.item.sku}),
            )
        )
    held: dict[int, Any] = {}
    if wo is not None:
        held.update({h.pk: h for h in holds_on_wo.get(wo.pk, [])})
        held.update(held_by_demand.get(("work_order", wo.pk), {}))
    for sl in sls:
        held.update(held_by_demand.get(("shipment", sl.shipment_id), {}))
    for hold in held.values():
        risks.append(
            Risk(
                "quality_hold",
                _("quality hold %(hold)s on %(what)s: %(why)s")
                % {"hold": hold.number, "what": hold.covers, "why": hold.note},
                _url("inventory:holds"),
            )
        )
    keys = [(order_ct, order.pk)]
    if wo is not None:
        keys.append((wo_ct, wo.pk))
    keys += [(shipment_ct, sl.shipment_id) for sl in sls]
    for key in keys:
        for exc in exceptions_by.get(key, []):
            risks.append(
                Risk(
                    "exception",
                    f"{exc.number}: {exc.title}",
                    _url("exceptions:detail", exc.number),
                )
            )
    return row


# The day's constraints change with the schedule, not with every poll of the board: each
# process computes them at most every MUSTSHIP_CONSTRAINED_CACHE_SECONDS (the board
# refreshes within 5 s anyway; tests set 0).
_constrained_cache: dict[dt.date, tuple[float, list[dict[str, Any]]]] = {}


def constrained_resources(*, today: dt.date) -> list[dict[str, Any]]:
    """Work centers that are down or loaded near their capacity today."""
    now = time.monotonic()
    cached = _constrained_cache.get(today)
    if cached is not None and now - cached[0] < settings.MUSTSHIP_CONSTRAINED_CACHE_SECONDS:
        return cached[1]
    result = _constrained_resources(today=today)
    _constrained_cache.clear()
    _constrained_cache[today] = (now, result)
    return result


def _constrained_resources(*, today: dt.date) -> list[dict[str, Any]]:
    from planning.selectors import load_vs_capacity

    result = []
    for row in load_vs_capacity(days=1, start=today):
        cell = row.cells[0]
        down = row.work_center.status == "down"
        if down or cell.percent >= CONSTRAINED_PERCENT:
            result.append(
                {
                    "work_center": row.work_center,
                    "percent": cell.percent,
                    "load_minutes": cell.load_minutes,
                    "capacity_minutes": cell.capacity_minutes,
                    "down": down,
                    "link": _url("planning:dispatch", row.work_center.code),
                }
            )
    result.sort(key=lambda c: (not c["down"], -c["percent"], c["work_center"].code))
    return result
