"""The one registry of execution KPIs: each indicator is defined here once, with how it is
computed (its description is shown on its page), which filters it takes and the records
behind it. Figures come from database aggregates over the transition history, the
reports, the labour records and the exceptions, never from Python loops over rows.

Conventions every indicator follows:

- A period is a range of plant-local days, both ends included. A record belongs to the
  period when its *end* event (the one that completes the measured step) falls in it.
- "First" means the earliest transition-history row of that kind for the record: a work
  order released, taken back and released again counts from its first release; an
  operation paused and resumed (across a shift boundary or not) counts its queue time
  from its first `ready` to its first `running` only; the pause is not queue time.
- Durations are in hours; the figure is the mean, the median is given beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    Greatest,
    Lag,
    Least,
    Round,
    TruncDate,
)
from django.utils import timezone

from exceptions.models import PlantException
from inventory.models import ScanRefusal
from mes.core.models import FieldChange, TransitionLog
from orders.models import ChangeRequest, OrderState, SalesOrder, SalesOrderLine
from planning.models import (
    ChangeoverTime,
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    WorkCenter,
    WorkOrder,
)
from shipping.models import ShipmentLine

LOWER = "lower"
HIGHER = "higher"
HOURS = "hours"
PERCENT = "%"

DELAYS, ERRORS, INEFFICIENCIES, DECISIONS = "delays", "errors", "inefficiencies", "decisions"
GROUPS = {
    DELAYS: "Delays",
    ERRORS: "Errors",
    INEFFICIENCIES: "Inefficiencies",
    DECISIONS: "Decisions",
}
FILTERS = ("work_center", "item", "customer")


# --- periods and durations -------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Plant-local days `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    @property
    def since(self) -> dt.datetime:
        return _local_midnight(self.start)

    @property
    def until(self) -> dt.datetime:
        return _local_midnight(self.end + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(day, day)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class SecondsBetween(Func):
    """Seconds from `start` to `end` (two datetimes) as a float, on Postgres and SQLite."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)"
        else:
            sql = f"((julianday({end}) - julianday({start})) * 86400.0)"
        return sql, (*end_params, *start_params)


def first_log(app_label: str, model: str, to_state: str, object_id: Any) -> Subquery:
    """When the record first entered `to_state`, from the transition history."""
    rows = TransitionLog.objects.filter(
        content_type__app_label=app_label,
        content_type__model=model,
        object_id=object_id,
        to_state=to_state,
    )
    return Subquery(rows.order_by("at", "id").values("at")[:1])


def logged_in(period: Period, app_label: str, model: str, to_state: str) -> QuerySet:
    """Ids of the records that entered `to_state` in the period: a narrow first cut on
    the history's (content type, state, time) index before the per-record subqueries."""
    return TransitionLog.objects.filter(
        content_type__app_label=app_label,
        content_type__model=model,
        to_state=to_state,
        at__gte=period.since,
        at__lt=period.until,
    ).values("object_id")


def _waits(qs: QuerySet, period: Period, *, clamp: bool = False) -> QuerySet:
    """Keep records whose end falls in the period and whose start is known; add
    `wait_seconds` (end - start; negative waits count as 0 when `clamp`)."""
    seconds = SecondsBetween(F("start_at"), F("end_at"))
    if clamp:
        seconds = Greatest(seconds, Value(0.0), output_field=FloatField())
    return (
        qs.filter(end_at__gte=period.since, end_at__lt=period.until, start_at__isnull=False)
        .annotate(wait_seconds=seconds)
        .order_by("end_at", "pk")
    )


# --- measures: how the records become one figure ----------------------------------------


class Measure:
    """Database aggregates over the records, and the figure they make.

    Every figure is `combine(numerator, denominator)` of two additive parts, so the
    parts of daily snapshots add up to the figure of any longer period: an indicator
    must be the sum of its days (tests/kpis/test_pages.py checks each one)."""

    def aggregates(self) -> dict[str, Any]:
        raise NotImplementedError

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        raise NotImplementedError

    def combine(self, numerator: float, denominator: float, period: Period) -> float | None:
        return round(numerator, 4)

    def value(self, row: Mapping[str, Any], period: Period) -> float | None:
        return self.combine(*self.parts(row), period)

    def evaluate(self, records: QuerySet) -> dict[str, Any]:
        """The aggregate row of all the records (one query)."""
        return records.order_by().aggregate(**self.aggregates())

    def evaluate_by(self, records: QuerySet, path: str) -> dict[Any, dict[str, Any]]:
        """The aggregate row of each value of `path` (one grouped query)."""
        rows = records.order_by().values(path).annotate(**self.aggregates())
        return {r[path]: r for r in rows}

    def stats(self, records: QuerySet, row: Mapping[str, Any]) -> dict[str, Any]:
        return {}


class Duration(Measure):
    """Mean of `wait_seconds` in hours (total seconds / records); the median beside it."""

    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk"), "total_seconds": Sum("wait_seconds")}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("total_seconds") or 0), float(row.get("n") or 0)

    def combine(self, numerator: float, denominator: float, period: Period) -> float | None:
        if not denominator:
            return None
        return round(numerator / denominator / 3600.0, 4)

    def stats(self, records: QuerySet, row: Mapping[str, Any]) -> dict[str, Any]:
        n = row.get("n") or 0
        if not n:
            return {"median": None}
        # The one or two middle values, read by the database's ORDER BY ... OFFSET.
        lo, hi = (n - 1) // 2, n // 2
        middle = list(
            records.order_by("wait_seconds", "pk").values_list("wait_seconds", flat=True)[
                lo : hi + 1
            ]
        )
        return {"median": round(sum(middle) / len(middle) / 3600.0, 4)}


class Counted(Measure):
    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk")}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("n") or 0), 0.0


class Total(Measure):
    def __init__(self, expression: Any) -> None:
        self.expression = expression

    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk"), "total": Sum(self.expression)}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("total") or 0), 0.0


class PerWeek(Measure):
    """Count divided by the weeks in the period (7 days = 1 week)."""

    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk")}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("n") or 0), 0.0

    def combine(self, numerator: float, denominator: float, period: Period) -> float | None:
        return round(numerator * 7 / period.days, 4)


class Percent(Measure):
    """100 x numerator / denominator; none when the denominator is zero."""

    def __init__(self, numerator: Any, denominator: Any) -> None:
        self.numerator, self.denominator = numerator, denominator

    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk"), "num": self.numerator, "den": self.denominator}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("num") or 0), float(row.get("den") or 0)

    def combine(self, numerator: float, denominator: float, period: Period) -> float | None:
        if not denominator:
            return None
        return round(numerator * 100.0 / denominator, 4)


# --- the registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    group: str
    unit: str
    direction: str  # LOWER or HIGHER is better
    description: str
    records: Callable[[Period], QuerySet]
    measure: Measure
    # Filter name -> lookup on the records (period is always supported).
    filters: Mapping[str, str] = field(default_factory=dict)
    # Breakdown dimension -> lookup on the records.
    breakdowns: Mapping[str, str] = field(default_factory=dict)
    # Fields of each record shown in the drill-down list.
    columns: tuple[str, ...] = ()

    @property
    def supported_filters(self) -> tuple[str, ...]:
        return ("period", *self.filters)


@dataclass
class Result:
    indicator: Indicator
    period: Period
    filters: dict[str, str]
    value: float | None
    count: int
    stats: dict[str, Any]
    breakdown: dict[str, list[dict[str, Any]]]
    records: QuerySet
    # The two additive parts the value is made of (see Measure).
    numerator: float = 0.0
    denominator: float = 0.0


INDICATORS: dict[str, Indicator] = {}


def register(indicator: Indicator) -> Indicator:
    if indicator.key in INDICATORS:
        raise ValueError(f"indicator {indicator.key!r} is defined twice")
    unknown = set(indicator.filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"{indicator.key}: unknown filters {sorted(unknown)}")
    INDICATORS[indicator.key] = indicator
    return indicator


def indicator_get(key: str) -> Indicator:
    return INDICATORS[key]


def records_for(indicator: Indicator, period: Period, filters: Mapping[str, str]) -> QuerySet:
    unsupported = sorted(set(filters) - set(indicator.filters))
    if unsupported:
        raise ValueError(
            f"{indicator.key} cannot be filtered by {', '.join(unsupported)}; "
            f"it supports {', '.join(indicator.supported_filters)}"
        )
    qs = indicator.records(period)
    for name, value in filters.items():
        qs = qs.filter(**{indicator.filters[name]: value})
    return qs


def compute(
    indicator: Indicator,
    period: Period,
    filters: Mapping[str, str] | None = None,
    *,
    breakdown: bool | tuple[str, ...] = True,
    stats: bool = True,
) -> Result:
    """The figure for the period and filters, with its breakdowns (all, none, or the
    dimensions named) and the records behind it. A fixed number of queries whatever the
    number of records."""
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    records = records_for(indicator, period, filters)
    row = indicator.measure.evaluate(records)
    parts: dict[str, list[dict[str, Any]]] = {}
    for dimension, path in indicator.breakdowns.items():
        if breakdown is True or (breakdown and dimension in breakdown):
            parts[dimension] = breakdown_rows(indicator, records, path, period)
    numerator, denominator = indicator.measure.parts(row)
    return Result(
        indicator=indicator,
        period=period,
        filters=dict(filters),
        value=indicator.measure.combine(numerator, denominator, period),
        count=row.get("n") or 0,
        stats=indicator.measure.stats(records, row) if stats else {},
        breakdown=parts,
        records=records,
        numerator=numerator,
        denominator=denominator,
    )


def breakdown_rows(
    indicator: Indicator, records: QuerySet, path: str, period: Period
) -> list[dict[str, Any]]:
    rows = indicator.measure.evaluate_by(records, path)
    result = []
    for key, r in rows.items():
        numerator, denominator = indicator.measure.parts(r)
        result.append(
            {
                "key": "" if key is None else str(key),
                "value": indicator.measure.combine(numerator, denominator, period),
                "count": r.get("n") or 0,
                "numerator": numerator,
                "denominator": denominator,
            }
        )
    return sorted(result, key=lambda r: (-(r["count"]), r["key"]))


def records_in_part(indicator: Indicator, records: QuerySet, dimension: str, key: str) -> QuerySet:
    """The records behind one bar of a breakdown (a Pareto bar, a work center's figure);
    an empty key is the records with no value for that dimension."""
    path = indicator.breakdowns.get(dimension)
    if path is None:
        raise ValueError(
            f"{indicator.key} has no breakdown by {dimension}; it has "
            f"{', '.join(indicator.breakdowns) or 'none'}"
        )
    if key == "":
        return records.filter(**{f"{path}__isnull": True})
    return records.filter(**{path: key})


# --- paths shared by several indicators -------------------------------------------------

WO_FILTERS = {"item": "item__sku", "customer": "sales_order_line__order__customer__code"}
OP_FILTERS = {
    "work_center": "work_center__code",
    "item": "work_order__item__sku",
    "customer": "work_order__sales_order_line__order__customer__code",
}
REPORT_FILTERS = {
    "work_center": "work_center__code",
    "item": "operation__work_order__item__sku",
    "customer": "operation__work_order__sales_order_line__order__customer__code",
}
EXCEPTION_BREAKDOWNS = {"type": "rule__decision_point", "owner_role": "owner_role__name"}


# --- delays ----------------------------------------------------------------------------


def _order_to_release(period: Period) -> QuerySet:
    released = logged_in(period, "planning", "workorder", "released")
    qs = WorkOrder.objects.filter(sales_order_line__isnull=False, pk__in=released).annotate(
        start_at=first_log(
            "orders", "salesorder", OrderState.CONFIRMED, OuterRef("sales_order_line__order_id")
        ),
        end_at=first_log("planning", "workorder", "released", OuterRef("pk")),
    )
    return _waits(qs, period)


register(
    Indicator(
        key="order_to_release",
        name="Order confirmed → work order released",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each work order made for a sales order line and first released in the "
            "period: hours from the sales order's first `confirmed` transition to the work "
            "order's first `released` transition. Mean over those work orders (median "
            "beside it). Make-to-stock work orders are not counted."
        ),
        records=_order_to_release,
        measure=Duration(),
        filters=WO_FILTERS,
        breakdowns={"item": "item__sku"},
        columns=("number", "item__sku", "start_at", "end_at", "wait_seconds"),
    )
)


def _first_operation_started() -> Subquery:
    ops = Operation.objects.filter(work_order_id=OuterRef(OuterRef("pk"))).values("pk")
    rows = TransitionLog.objects.filter(
        content_type__app_label="planning",
        content_type__model="operation",
        to_state="running",
        object_id__in=ops,
    )
    return Subquery(rows.order_by("at", "id").values("at")[:1])


def _release_to_start(period: Period) -> QuerySet:
    started = Operation.objects.filter(
        pk__in=logged_in(period, "planning", "operation", "running")
    ).values("work_order_id")
    qs = WorkOrder.objects.filter(pk__in=started).annotate(
        start_at=first_log("planning", "workorder", "released", OuterRef("pk")),
        end_at=_first_operation_started(),
    )
    return _waits(qs, period)


register(
    Indicator(
        key="release_to_first_start",
        name="Work order released → first operation started",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each work order whose first operation start (the earliest `running` "
            "transition of any of its operations) falls in the period: hours from the work "
            "order's first `released` transition to that start. Mean, median beside it."
        ),
        records=_release_to_start,
        measure=Duration(),
        filters=WO_FILTERS,
        breakdowns={"item": "item__sku"},
        columns=("number", "item__sku", "start_at", "end_at", "wait_seconds"),
    )
)


def _queue_time(period: Period) -> QuerySet:
    started = logged_in(period, "planning", "operation", "running")
    qs = Operation.objects.filter(pk__in=started).annotate(
        start_at=first_log("planning", "operation", "ready", OuterRef("pk")),
        end_at=first_log("planning", "operation", "running", OuterRef("pk")),
    )
    return _waits(qs, period)


register(
    Indicator(
        key="queue_time",
        name="Operation queue time (ready → running)",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each operation first started in the period: hours from its first `ready` "
            "transition to its first `running` transition. Only the wait before the first "
            "start counts: a pause (across a shift boundary or not) and the resume after it "
            "are run time, not queue time; a partial report that sends the operation back "
            "to ready does not start a second queue. Mean per operation, by work center."
        ),
        records=_queue_time,
        measure=Duration(),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("work_order__number", "sequence", "work_center__code", "start_at", "end_at"),
    )
)


def _previous_operation_done() -> Subquery:
    previous = (
        Operation.objects.filter(
            work_order_id=OuterRef(OuterRef("work_order_id")),
            sequence__lt=OuterRef(OuterRef("sequence")),
            is_rework=False,
        )
        .order_by("-sequence")
        .values("pk")[:1]
    )
    rows = TransitionLog.objects.filter(
        content_type__app_label="planning",
        content_type__model="operation",
        to_state="done",
        object_id=Subquery(previous),
    )
    return Subquery(rows.order_by("at", "id").values("at")[:1])


def _operation_handoff(period: Period) -> QuerySet:
    started = logged_in(period, "planning", "operation", "running")
    qs = Operation.objects.filter(is_rework=False, pk__in=started).annotate(
        start_at=_previous_operation_done(),
        end_at=first_log("planning", "operation", "running", OuterRef("pk")),
    )
    return _waits(qs, period, clamp=True)


register(
    Indicator(
        key="operation_handoff",
        name="Operation done → next operation started",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each (non-rework) operation first started in the period that has a "
            "previous step: hours from the previous step's first `done` transition to this "
            "operation's first `running` transition. A step started on a transfer batch "
            "before its predecessor was done waited 0. Mean, by the work center that waited."
        ),
        records=_operation_handoff,
        measure=Duration(),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("work_order__number", "sequence", "work_center__code", "start_at", "end_at"),
    )
)


def _completed_to_shipped(period: Period) -> QuerySet:
    shipments = ShipmentLine.objects.filter(
        sales_order_line_id=OuterRef(OuterRef("sales_order_line_id"))
    ).values("shipment_id")
    handed_over = TransitionLog.objects.filter(
        content_type__app_label="shipping",
        content_type__model="shipment",
        to_state="handed_over",
        object_id__in=shipments,
        at__gte=OuterRef("start_at"),
    )
    shipped_lines = ShipmentLine.objects.filter(
        shipment_id__in=logged_in(period, "shipping", "shipment", "handed_over")
    ).values("sales_order_line_id")
    qs = WorkOrder.objects.filter(sales_order_line_id__in=shipped_lines).annotate(
        start_at=first_log("planning", "workorder", "completed", OuterRef("pk")),
    )
    qs = qs.annotate(end_at=Subquery(handed_over.order_by("at", "id").values("at")[:1]))
    return _waits(qs, period)


register(
    Indicator(
        key="completed_to_shipped",
        name="Work order completed → shipped",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each make-to-order work order: hours from its first `completed` transition "
            "to the first handover to a carrier (`handed_over`) of a shipment carrying its "
            "order line, at or after the completion, when that handover falls in the period."
        ),
        records=_completed_to_shipped,
        measure=Duration(),
        filters=WO_FILTERS,
        breakdowns={"item": "item__sku"},
        columns=("number", "item__sku", "start_at", "end_at", "wait_seconds"),
    )
)


def _cycle_time(period: Period) -> QuerySet:
    completed = logged_in(period, "planning", "workorder", "completed")
    qs = WorkOrder.objects.filter(pk__in=completed).annotate(
        start_at=first_log("planning", "workorder", "released", OuterRef("pk")),
        end_at=first_log("planning", "workorder", "completed", OuterRef("pk")),
    )
    return _waits(qs, period)


register(
    Indicator(
        key="work_order_cycle_time",
        name="Work order cycle time (released → completed)",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each work order first completed in the period: hours from its first "
            "`released` to its first `completed` transition. Mean, median beside it."
        ),
        records=_cycle_time,
        measure=Duration(),
        filters=WO_FILTERS,
        breakdowns={"item": "item__sku"},
        columns=("number", "item__sku", "start_at", "end_at", "wait_seconds"),
    )
)


def _order_lead_time(period: Period) -> QuerySet:
    shipped = logged_in(period, "orders", "salesorder", OrderState.SHIPPED)
    qs = SalesOrder.objects.filter(pk__in=shipped).annotate(
        start_at=first_log("orders", "salesorder", OrderState.CONFIRMED, OuterRef("pk")),
        end_at=first_log("orders", "salesorder", OrderState.SHIPPED, OuterRef("pk")),
    )
    return _waits(qs, period)


register(
    Indicator(
        key="order_lead_time",
        name="Order lead time (confirmed → shipped)",
        group=DELAYS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "For each sales order fully shipped in the period (its first `shipped` "
            "transition; partial shipments do not end it): hours from its first `confirmed` "
            "transition. Mean, median beside it."
        ),
        records=_order_lead_time,
        measure=Duration(),
        filters={"customer": "customer__code"},
        breakdowns={"customer": "customer__code"},
        columns=("number", "customer__code", "start_at", "end_at", "wait_seconds"),
    )
)


def _on_time_in_full(period: Period) -> QuerySet:
    shipped_by_promise = (
        ShipmentLine.objects.filter(
            sales_order_line_id=OuterRef("pk"),
            shipment__handed_over_at__isnull=False,
            shipment__handed_over_at__date__lte=OuterRef("promise_date"),
        )
        .order_by()
        .values("sales_order_line_id")
        .annotate(total=Sum("quantity_shipped"))
        .values("total")
    )
    last_due = min(period.end, timezone.localdate() - dt.timedelta(days=1))
    return (
        SalesOrderLine.objects.filter(promise_date__gte=period.start, promise_date__lte=last_due)
        .exclude(order__state=OrderState.CANCELLED)
        .annotate(
            shipped_by_promise=Coalesce(
                Subquery(shipped_by_promise),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=3),
            )
        )
        .order_by("promise_date", "pk")
    )


register(
    Indicator(
        key="on_time_in_full",
        name="On time in full (against the promise date)",
        group=DELAYS,
        unit=PERCENT,
        direction=HIGHER,
        description=(
            "Order lines (of orders not cancelled) whose promise date is in the period and "
            "already past: the share whose full quantity was handed over to carriers on or "
            "before the promise date (plant-local day). A line shipped partly on time and "
            "the rest late is not in full."
        ),
        records=_on_time_in_full,
        measure=Percent(Count("pk", filter=Q(shipped_by_promise__gte=F("quantity"))), Count("pk")),
        filters={"item": "item__sku", "customer": "order__customer__code"},
        breakdowns={"customer": "order__customer__code"},
        columns=("order__number", "line_no", "quantity", "promise_date", "shipped_by_promise"),
    )
)


def _operations_done(period: Period) -> QuerySet:
    done = logged_in(period, "planning", "operation", "done")
    qs = Operation.objects.filter(pk__in=done).annotate(
        end_at=first_log("planning", "operation", "done", OuterRef("pk"))
    )
    return qs.filter(end_at__gte=period.since, end_at__lt=period.until).order_by("end_at", "pk")


register(
    Indicator(
        key="schedule_adherence",
        name="Schedule adherence (operations finished by their scheduled end)",
        group=DELAYS,
        unit=PERCENT,
        direction=HIGHER,
        description=(
            "Operations first `done` in the period that had a scheduled end: the share "
            "whose `done` transition came at or before that scheduled end."
        ),
        records=lambda period: _operations_done(period).filter(scheduled_end__isnull=False),
        measure=Percent(Count("pk", filter=Q(end_at__lte=F("scheduled_end"))), Count("pk")),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("work_order__number", "sequence", "work_center__code", "scheduled_end", "end_at"),
    )
)


# --- errors ----------------------------------------------------------------------------


def _reports(period: Period) -> QuerySet:
    return OperationReport.objects.filter(at__gte=period.since, at__lt=period.until).order_by(
        "at", "pk"
    )


REPORTED = Sum(F("quantity_good") + F("quantity_scrap") + F("quantity_rework"))

register(
    Indicator(
        key="scrap_rate",
        name="Scrap rate",
        group=ERRORS,
        unit=PERCENT,
        direction=LOWER,
        description=(
            "Operation reports in the period: scrap quantity / (good + scrap + rework) "
            "quantity, in percent. By work center, item and scrap reason."
        ),
        records=_reports,
        measure=Percent(Sum("quantity_scrap"), REPORTED),
        filters=REPORT_FILTERS,
        breakdowns={
            "work_center": "work_center__code",
            "item": "operation__work_order__item__sku",
            "reason": "scrap_reason__code",
        },
        columns=("operation__work_order__number", "work_center__code", "quantity_scrap", "at"),
    )
)

register(
    Indicator(
        key="rework_rate",
        name="Rework rate",
        group=ERRORS,
        unit=PERCENT,
        direction=LOWER,
        description=(
            "Operation reports in the period: quantity sent to rework / (good + scrap + "
            "rework) quantity, in percent. By work center, item and rework reason."
        ),
        records=_reports,
        measure=Percent(Sum("quantity_rework"), REPORTED),
        filters=REPORT_FILTERS,
        breakdowns={
            "work_center": "work_center__code",
            "item": "operation__work_order__item__sku",
            "reason": "rework_reason__code",
        },
        columns=("operation__work_order__number", "work_center__code", "quantity_rework", "at"),
    )
)

register(
    Indicator(
        key="wrong_routings",
        name="Reports off the routing",
        group=ERRORS,
        unit="reports",
        direction=LOWER,
        description=(
            "Operation reports in the period flagged as off the routing (work reported on "
            "a work center or step the routing does not name). Count."
        ),
        records=lambda period: _reports(period).filter(wrong_routing=True),
        measure=Counted(),
        filters=REPORT_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("operation__work_order__number", "work_center__code", "note", "at"),
    )
)


def _refusals(kind: str) -> Callable[[Period], QuerySet]:
    def records(period: Period) -> QuerySet:
        return ScanRefusal.objects.filter(
            kind=kind, at__gte=period.since, at__lt=period.until
        ).order_by("at", "pk")

    return records


register(
    Indicator(
        key="mispicks",
        name="Mis-picks",
        group=ERRORS,
        unit="scans",
        direction=LOWER,
        description=(
            "Scans refused as a mis-pick (wrong item or lot picked) in the period. Count."
        ),
        records=_refusals(ScanRefusal.Kind.MISPICK),
        measure=Counted(),
        breakdowns={"document": "document_type"},
        columns=("document_ref", "expected", "scanned", "at"),
    )
)

register(
    Indicator(
        key="incorrect_dispatches",
        name="Incorrect dispatch scans",
        group=ERRORS,
        unit="scans",
        direction=LOWER,
        description=(
            "Scans refused at the dock as an incorrect dispatch (a package of another "
            "shipment) in the period. Count."
        ),
        records=_refusals(ScanRefusal.Kind.INCORRECT_DISPATCH),
        measure=Counted(),
        breakdowns={"document": "document_type"},
        columns=("document_ref", "expected", "scanned", "at"),
    )
)


# --- inefficiencies --------------------------------------------------------------------


def _changeovers(period: Period) -> QuerySet:
    return _operations_done(period).filter(scheduled_changeover_minutes__gt=0)


register(
    Indicator(
        key="changeovers",
        name="Changeovers",
        group=INEFFICIENCIES,
        unit="changeovers",
        direction=LOWER,
        description=(
            "Operations first `done` in the period that the schedule gave a changeover "
            "(scheduled changeover minutes > 0). Count, by work center."
        ),
        records=_changeovers,
        measure=Counted(),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("work_order__number", "sequence", "work_center__code", "end_at"),
    )
)

register(
    Indicator(
        key="changeover_minutes",
        name="Changeover time",
        group=INEFFICIENCIES,
        unit="minutes",
        direction=LOWER,
        description=(
            "Sum of the scheduled changeover minutes of the operations first `done` in the "
            "period, by work center."
        ),
        records=_changeovers,
        measure=Total("scheduled_changeover_minutes"),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=("work_order__number", "sequence", "work_center__code", "end_at"),
    )
)


def _labour(period: Period) -> QuerySet:
    return LabourEntry.objects.filter(
        clock_off__gte=period.since, clock_off__lt=period.until, overtime_minutes__gt=0
    ).order_by("clock_off", "pk")


register(
    Indicator(
        key="unplanned_overtime",
        name="Unplanned overtime",
        group=INEFFICIENCIES,
        unit="minutes",
        direction=LOWER,
        description=(
            "Labour clocked off in the period: the sum of its minutes outside the work "
            "center's shift calendar (overtime minutes, computed when the clock stops). "
            "By work center and operator."
        ),
        records=_labour,
        measure=Total("overtime_minutes"),
        filters={
            "work_center": "operation__work_center__code",
            "item": "operation__work_order__item__sku",
            "customer": "operation__work_order__sales_order_line__order__customer__code",
        },
        breakdowns={
            "work_center": "operation__work_center__code",
            "operator": "operator__username",
        },
        columns=("operation__work_order__number", "operator__username", "clock_on", "clock_off"),
    )
)


def _expediting(period: Period) -> QuerySet:
    expedited = Q(
        content_type__app_label="planning",
        content_type__model="workorder",
        field="expedite",
        new_value=True,
    )
    priority = Q(content_type__app_label="orders", content_type__model="salesorder") & Q(
        field="priority"
    )
    changes = FieldChange.objects.filter(at__gte=period.since, at__lt=period.until).annotate(
        # Only priority values are numbers: an expedite flag never goes through the cast.
        old_number=Case(When(field="priority", then=Cast("old_value", IntegerField()))),
        new_number=Case(When(field="priority", then=Cast("new_value", IntegerField()))),
    )
    # A lower priority number is more urgent: only moves up count as a bump.
    return changes.filter(expedited | (priority & Q(new_number__lt=F("old_number")))).order_by(
        "at", "pk"
    )


register(
    Indicator(
        key="expediting",
        name="Expediting frequency",
        group=INEFFICIENCIES,
        unit="per week",
        direction=LOWER,
        description=(
            "Governed changes in the period that expedite: a work order's expedite flag "
            "set on, or a sales order's priority moved to a more urgent number. Count per "
            "7 days of the period, by who and by reason code."
        ),
        records=_expediting,
        measure=PerWeek(),
        breakdowns={"who": "actor__username", "why": "reason_code__code"},
        columns=("object_repr", "field", "old_value", "new_value", "reason_text", "at"),
    )
)


# --- decisions -------------------------------------------------------------------------


def _exception_latency(end_field: str) -> Callable[[Period], QuerySet]:
    def records(period: Period) -> QuerySet:
        qs = PlantException.objects.annotate(start_at=F("first_seen_at"), end_at=F(end_field))
        return _waits(qs, period)

    return records


register(
    Indicator(
        key="exception_ack_latency",
        name="Decision latency: exception raised → acknowledged",
        group=DECISIONS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "Exceptions first acknowledged in the period (starting work on one acknowledges "
            "it): hours from when it was first raised to its FIRST acknowledgement; a "
            "reopened exception keeps that first acknowledgement. Mean, by type (the rule's "
            "decision point) and owner role."
        ),
        records=_exception_latency("acknowledged_at"),
        measure=Duration(),
        breakdowns=EXCEPTION_BREAKDOWNS,
        columns=("number", "title", "start_at", "end_at", "wait_seconds"),
    )
)

register(
    Indicator(
        key="exception_resolve_latency",
        name="Decision latency: exception raised → resolved",
        group=DECISIONS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "Exceptions resolved in the period: hours from when each was first raised to its "
            "FINAL resolution, escalations included. A reopened exception belongs to the "
            "period of its final resolution, counted from its first raise; one reopened and "
            "not resolved again is not counted. Mean, by type (the rule's decision point) "
            "and owner role."
        ),
        records=_exception_latency("resolved_at"),
        measure=Duration(),
        breakdowns=EXCEPTION_BREAKDOWNS,
        columns=("number", "title", "start_at", "end_at", "wait_seconds"),
    )
)


def _escalations(period: Period) -> QuerySet:
    escalated = TransitionLog.objects.filter(
        content_type__app_label="exceptions",
        content_type__model="plantexception",
        transition="escalate",
        at__gte=period.since,
        at__lt=period.until,
    )
    return PlantException.objects.filter(
        Exists(escalated.filter(object_id=OuterRef("pk")))
    ).annotate(
        escalations=Subquery(
            escalated.filter(object_id=OuterRef("pk"))
            .order_by()
            .values("object_id")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        )
    )


register(
    Indicator(
        key="escalations",
        name="Escalations",
        group=DECISIONS,
        unit="escalations",
        direction=LOWER,
        description=(
            "`escalate` transitions of exceptions in the period (an exception escalated "
            "twice counts twice). Drill-down: the exceptions escalated, with how often."
        ),
        records=_escalations,
        measure=Total("escalations"),
        breakdowns=EXCEPTION_BREAKDOWNS,
        columns=("number", "title", "escalations"),
    )
)

register(
    Indicator(
        key="exceptions_raised",
        name="Exceptions raised",
        group=DECISIONS,
        unit="exceptions",
        direction=LOWER,
        description=(
            "Exceptions first raised in the period (a repeat of an unresolved one adds an "
            "occurrence, not an exception). Count, by type, rule and owner role."
        ),
        records=lambda period: PlantException.objects.filter(
            first_seen_at__gte=period.since, first_seen_at__lt=period.until
        ).order_by("first_seen_at", "pk"),
        measure=Counted(),
        breakdowns={**EXCEPTION_BREAKDOWNS, "rule": "rule__name", "severity": "severity"},
        columns=("number", "title", "severity", "first_seen_at"),
    )
)


def _change_request_approval(period: Period) -> QuerySet:
    qs = ChangeRequest.objects.filter(
        needs_approval=True,
        state__in=[ChangeRequest.State.APPROVED, ChangeRequest.State.APPLIED],
    ).annotate(start_at=F("requested_at"), end_at=F("decided_at"))
    return _waits(qs, period)


register(
    Indicator(
        key="change_request_approval",
        name="Change requests: time to approval",
        group=DECISIONS,
        unit=HOURS,
        direction=LOWER,
        description=(
            "Change requests that needed a second planner's approval and were approved in "
            "the period: hours from the request to the approval. Mean, by kind."
        ),
        records=_change_request_approval,
        measure=Duration(),
        filters={"customer": "order__customer__code"},
        breakdowns={"kind": "kind"},
        columns=("number", "order__number", "kind", "start_at", "end_at", "wait_seconds"),
    )
)


# --- adherence, actual changeovers, downtime, reopened exceptions -----------------------


def _work_orders_completed(period: Period) -> QuerySet:
    completed = logged_in(period, "planning", "workorder", "completed")
    qs = WorkOrder.objects.filter(pk__in=completed, scheduled_end__isnull=False).annotate(
        end_at=first_log("planning", "workorder", "completed", OuterRef("pk"))
    )
    return qs.filter(end_at__gte=period.since, end_at__lt=period.until).order_by("end_at", "pk")


register(
    Indicator(
        key="work_order_adherence",
        name="Work order adherence (completed by their scheduled end)",
        group=DELAYS,
        unit=PERCENT,
        direction=HIGHER,
        description=(
            "Work orders first `completed` in the period that had a scheduled end: the "
            "share whose first `completed` transition came at or before that scheduled end. "
            "Work orders never scheduled are not counted."
        ),
        records=_work_orders_completed,
        measure=Percent(Count("pk", filter=Q(end_at__lte=F("scheduled_end"))), Count("pk")),
        filters=WO_FILTERS,
        breakdowns={"item": "item__sku"},
        columns=("number", "item__sku", "scheduled_end", "end_at"),
    )
)


def start_grace_minutes() -> int:
    """Minutes an operation may start after its scheduled start and still be on time."""
    return int(getattr(settings, "KPI_START_ADHERENCE_GRACE_MINUTES", 15))


def _start_adherence(period: Period) -> QuerySet:
    grace_seconds = start_grace_minutes() * 60
    started = logged_in(period, "planning", "operation", "running")
    qs = (
        Operation.objects.filter(pk__in=started, scheduled_start__isnull=False)
        .annotate(start_at=first_log("planning", "operation", "running", OuterRef("pk")))
        .filter(start_at__gte=period.since, start_at__lt=period.until)
        # Whole seconds: SQLite's julianday arithmetic is not exact to the microsecond.
        .annotate(late_seconds=Round(SecondsBetween(F("scheduled_start"), F("start_at"))))
    )
    return qs.annotate(
        on_time=Case(
            When(late_seconds__lte=grace_seconds, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    ).order_by("start_at", "pk")


register(
    Indicator(
        key="start_adherence",
        name="Start adherence (operations started by their scheduled start)",
        group=DELAYS,
        unit=PERCENT,
        direction=HIGHER,
        description=(
            "Operations first `running` in the period that had a scheduled start: the share "
            "whose first start came no later than the scheduled start plus a grace "
            "(KPI_START_ADHERENCE_GRACE_MINUTES, 15 minutes unless set). Only the first "
            "start counts: an operation paused at the end of a shift and resumed the next "
            "morning is judged by when it first started, on the day it first started. "
            "By work center."
        ),
        records=_start_adherence,
        measure=Percent(Sum("on_time"), Count("pk")),
        filters=OP_FILTERS,
        breakdowns={"work_center": "work_center__code"},
        columns=(
            "work_order__number",
            "sequence",
            "work_center__code",
            "scheduled_start",
            "start_at",
            "late_seconds",
        ),
    )
)


# Changeovers as they happened, against the scheduler's model of them (planning/scheduling
# /model.py): a changeover is a switch between two operations of different families run
# one after the other on a work center; an operation without a family needs no particular
# set-up and takes no part in the sequence. The matrix (ChangeoverTime) gives the minutes
# of a switch, the work center's default changeover the minutes of a pair with no entry.
#
# The sequence is each work center's `running` transitions (starts and resumes) within one
# plant-local day: the day is the bucket the minimum is worked out for, so every figure
# below is the sum of its days and reads from the daily snapshots. A resume of the same
# operation after a pause (across a shift boundary or not) is no switch.


def _runs(period: Period) -> QuerySet:
    """Every `running` transition of an operation with a family in the period, with its
    work center, family, plant-local day and the family run just before it that day on
    the same work center (`previous_family`, a window function in the database)."""
    operation = Operation.objects.filter(pk=OuterRef("object_id"))
    return (
        TransitionLog.objects.filter(
            content_type__app_label="planning",
            content_type__model="operation",
            to_state="running",
            at__gte=period.since,
            at__lt=period.until,
        )
        .annotate(
            work_center_id=Subquery(operation.values("work_center_id")[:1]),
            work_center_code=Subquery(operation.values("work_center__code")[:1]),
            family=Subquery(operation.values("changeover_family_id")[:1]),
            family_code=Subquery(operation.values("changeover_family__code")[:1]),
            day=TruncDate("at", tzinfo=timezone.get_current_timezone()),
        )
        .filter(family__isnull=False)
        .annotate(
            previous_family=Window(
                Lag("family"),
                partition_by=[F("work_center_id"), F("day")],
                order_by=[F("at").asc(), F("pk").asc()],
            ),
            previous_family_code=Window(
                Lag("family_code"),
                partition_by=[F("work_center_id"), F("day")],
                order_by=[F("at").asc(), F("pk").asc()],
            ),
        )
        .order_by("at", "pk")
    )


def _switches(period: Period) -> QuerySet:
    return _runs(period).filter(previous_family__isnull=False).exclude(previous_family=F("family"))


# Counted in SQL around the window query; {prev} and {family} are its quoted columns.
SWITCHES = "SUM(CASE WHEN {prev} IS NOT NULL AND {prev} <> {family} THEN 1 ELSE 0 END)"
FAMILIES = "COUNT(DISTINCT {family})"


def _run_groups(records: QuerySet, keys: list[str], measures: str) -> list[tuple[Any, ...]]:
    """Group the runs (records of `_runs`, filtered or not) by `keys` around the window
    query: SQL cannot group by a window function's result in the query that computes it,
    so the ORM's query becomes the FROM of a grouped one."""
    connection = connections[records.db]
    quote = connection.ops.quote_name
    columns = list(dict.fromkeys([*keys, "family", "previous_family"]))
    sql, params = records.order_by().values(*columns).query.sql_with_params()
    group = ", ".join(quote(k) for k in keys)
    measures = measures.format(prev=quote("previous_family"), family=quote("family"))
    # Only quoted column names and fixed SQL are put together; values stay parameters.
    query = f"SELECT {group}, {measures} FROM ({sql}) runs GROUP BY {group}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


class GroupedMeasure(Measure):
    """A figure the database counts in groups (a work center and day, a pair of families)
    that are then combined: the groups are few, the records are not read."""

    def aggregates(self) -> dict[str, Any]:
        return {"n": Count("pk")}

    def parts(self, row: Mapping[str, Any]) -> tuple[float, float]:
        return float(row.get("total") or 0), 0.0

    def evaluate(self, records: QuerySet) -> dict[str, Any]:
        return self.evaluate_by(records, None).get(None, {"n": 0, "total": 0})

    def evaluate_by(self, records: QuerySet, path: str | None) -> dict[Any, dict[str, Any]]:
        raise NotImplementedError


class ChangeoverMinutes(GroupedMeasure):
    """Switches counted per work center and pair of families, times the matrix minutes
    of that pair (the work center's default without an entry)."""

    def evaluate_by(self, records: QuerySet, path: str | None) -> dict[Any, dict[str, Any]]:
        keys = ["work_center_id", "previous_family", "family", *([path] if path else [])]
        groups = _run_groups(records, keys, SWITCHES)
        centers = {g[0] for g in groups}
        matrix = {
            (m.work_center_id, m.from_family_id, m.to_family_id): m.minutes
            for m in ChangeoverTime.objects.filter(work_center_id__in=centers)
        }
        default = dict(
            WorkCenter.objects.filter(pk__in=centers).values_list(
                "pk", "default_changeover_minutes"
            )
        )
        out: dict[Any, dict[str, Any]] = {}
        for *key, n in groups:
            if not n:
                continue
            work_center, previous, family = key[:3]
            minutes = matrix.get((work_center, previous, family), default.get(work_center, 0))
            row = out.setdefault(key[3] if path else None, {"n": 0, "total": 0})
            row["n"] += n
            row["total"] += n * minutes
        return out


class ExcessChangeovers(GroupedMeasure):
    """Per work center and day: the switches minus the minimum the same work needed, the
    distinct families run that day minus the parallel machines (each holds a family
    without a switch), not below 0. Summed; the count is the switches."""

    def evaluate_by(self, records: QuerySet, path: str | None) -> dict[Any, dict[str, Any]]:
        keys = ["work_center_id", "day", *([path] if path else [])]
        groups = _run_groups(records, keys, f"{SWITCHES}, {FAMILIES}")
        machines = dict(
            WorkCenter.objects.filter(pk__in={g[0] for g in groups}).values_list("pk", "capacity")
        )
        out: dict[Any, dict[str, Any]] = {}
        for *key, switches, families in groups:
            minimum = max(0, families - machines.get(key[0], 1))
            row = out.setdefault(key[2] if path else None, {"n": 0, "total": 0})
            row["n"] += switches
            row["total"] += max(0, switches - minimum)
        return out


CHANGEOVER_SEQUENCE = (
    "Each work center's sequence is its `running` transitions (starts and resumes) of "
    "operations with a changeover family, within one plant-local day; a run whose family "
    "differs from the run just before it that day is an actual changeover. A resume of "
    "the same family after a pause is none; the first run of a day is compared with "
    "nothing (the day is the bucket the minimum is worked out for, so days add up). "
    "Operations without a family need no particular set-up and take no part."
)
CHANGEOVER_COLUMNS = (
    "object_repr",
    "work_center_code",
    "previous_family_code",
    "family_code",
    "at",
)

register(
    Indicator(
        key="changeovers_actual",
        name="Changeovers (actual)",
        group=INEFFICIENCIES,
        unit="changeovers",
        direction=LOWER,
        description=f"{CHANGEOVER_SEQUENCE} Count, by work center.",
        records=_switches,
        measure=Counted(),
        filters={"work_center": "work_center_code"},
        breakdowns={"work_center": "work_center_code"},
        columns=CHANGEOVER_COLUMNS,
    )
)

register(
    Indicator(
        key="changeover_minutes_actual",
        name="Changeover time (actual changeovers)",
        group=INEFFICIENCIES,
        unit="minutes",
        direction=LOWER,
        description=(
            f"{CHANGEOVER_SEQUENCE} Sum of the minutes of those changeovers: the work "
            "center's changeover matrix entry from the previous family to the new one, or "
            "its default changeover when the matrix has no entry. By work center."
        ),
        records=_switches,
        measure=ChangeoverMinutes(),
        filters={"work_center": "work_center_code"},
        breakdowns={"work_center": "work_center_code"},
        columns=CHANGEOVER_COLUMNS,
    )
)

register(
    Indicator(
        key="changeovers_excess",
        name="Excess changeovers (against the scheduler's minimum)",
        group=INEFFICIENCIES,
        unit="changeovers",
        direction=LOWER,
        description=(
            f"{CHANGEOVER_SEQUENCE} For each work center and day: actual changeovers minus "
            "the minimum the same work needed, that is the number of distinct families it "
            "ran that day minus its parallel machines (each machine can hold one family "
            "without a switch), not below 0. Summed over work centers and days; by work "
            "center. The records are the day's runs in sequence."
        ),
        records=_runs,
        measure=ExcessChangeovers(),
        filters={"work_center": "work_center_code"},
        breakdowns={"work_center": "work_center_code"},
        columns=CHANGEOVER_COLUMNS,
    )
)


def _downtime(period: Period) -> QuerySet:
    """Downtime overlapping the period, clipped to it; an open one runs up to now."""
    now = timezone.now()
    moment = DateTimeField()
    since, until = Value(period.since, moment), Value(period.until, moment)
    return (
        Downtime.objects.filter(started_at__lt=min(period.until, now))
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=period.since))
        .annotate(
            start_at=Greatest(F("started_at"), since, output_field=moment),
            end_at=Least(Coalesce(F("ended_at"), Value(now, moment)), until, output_field=moment),
        )
        .annotate(minutes=SecondsBetween(F("start_at"), F("end_at")) / Value(60.0))
        .order_by("start_at", "pk")
    )


register(
    Indicator(
        key="downtime_minutes",
        name="Downtime",
        group=INEFFICIENCIES,
        unit="minutes",
        direction=LOWER,
        description=(
            "Work center downtime overlapping the period: the minutes of each downtime "
            "inside the period (a downtime that began before the period counts from its "
            "start, one that ended after it up to its end; one still open counts up to now "
            "or the end of the period, whichever is earlier). Sum, by work center and by "
            "reason code (a Pareto of downtime reasons)."
        ),
        records=_downtime,
        measure=Total("minutes"),
        filters={"work_center": "work_center__code"},
        breakdowns={"work_center": "work_center__code", "reason": "reason_code__code"},
        columns=(
            "work_center__code",
            "reason_code__code",
            "started_at",
            "ended_at",
            "start_at",
            "end_at",
            "minutes",
        ),
    )
)


def _reopened(period: Period) -> QuerySet:
    reopens = TransitionLog.objects.filter(
        content_type__app_label="exceptions",
        content_type__model="plantexception",
        transition="reopen",
        at__gte=period.since,
        at__lt=period.until,
    )
    return (
        PlantException.objects.filter(Exists(reopens.filter(object_id=OuterRef("pk"))))
        .annotate(
            reopens=Subquery(
                reopens.filter(object_id=OuterRef("pk"))
                .order_by()
                .values("object_id")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            )
        )
        .order_by("number")
    )


register(
    Indicator(
        key="exceptions_reopened",
        name="Exceptions reopened",
        group=DECISIONS,
        unit="reopens",
        direction=LOWER,
        description=(
            "`reopen` transitions of exceptions in the period: a resolution that did not "
            "hold (an exception reopened twice counts twice). By type (the rule's decision "
            "point) and owner role. Drill-down: the exceptions reopened, with how often."
        ),
        records=_reopened,
        measure=Total("reopens"),
        breakdowns=EXCEPTION_BREAKDOWNS,
        columns=("number", "title", "state", "reopens"),
    )
)
