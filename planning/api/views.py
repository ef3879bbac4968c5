"""Planning over the API: master data (changeover families, work centers with calendars
and changeover matrices, routings) under the masterdata scopes; work orders, operations,
schedule runs and downtime under the planning scopes; capable-to-promise for the ERP.
Thin views: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.core.api.conditional import (
    check_if_match,
    detail_response,
    with_etag,
)
from mes.core.api.idempotency import idempotent
from mes.core.api.schema import IDEMPOTENCY_HEADER, IF_MATCH_HEADER, MASTERDATA, PROBLEM
from mes.core.errors import NotPermitted, ValidationFailed
from mes.core.transitions import available_transitions

from .. import services
from ..models import (
    CalendarException,
    ChangeoverFamily,
    ChangeoverTime,
    Downtime,
    Operation,
    OperationState,
    Routing,
    RoutingOperation,
    ScheduleRun,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)
from ..services.masterdata import (
    CalendarExceptionInput,
    ChangeoverInput,
    RoutingStepInput,
    ShiftInput,
    changeover_family_upsert,
    routing_upsert,
    work_center_upsert,
)
from ..services.promising import promise_compute
from . import serializers as s

PLANNING = {"read_scope": "planning:read", "write_scope": "planning:write"}


# --- changeover families -------------------------------------------------------------------


class ChangeoverFamilyListCreateView(generics.ListAPIView):
    """Changeover families; create or rename one by its code."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.ChangeoverFamilyIO
    ordering_fields = ["code"]
    ordering = ["code"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ChangeoverFamily.objects.order_by("code")

    @extend_schema(
        request=s.ChangeoverFamilyIO,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ChangeoverFamilyIO, 200: s.ChangeoverFamilyIO, 400: PROBLEM},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ChangeoverFamilyIO(data=request.data)
        data.is_valid(raise_exception=True)
        family, created = changeover_family_upsert(**data.validated_data)
        return Response(s.ChangeoverFamilyIO(family).data, status=201 if created else 200)


# --- work centers ----------------------------------------------------------------------------


def _work_centers() -> QuerySet[WorkCenter]:
    return (
        WorkCenter.objects.select_related("line_side_location")
        .prefetch_related(
            "shifts",
            Prefetch(
                "calendar_exceptions",
                queryset=CalendarException.objects.order_by("date", "start", "id"),
            ),
            Prefetch(
                "changeover_times",
                queryset=ChangeoverTime.objects.select_related("from_family", "to_family"),
            ),
        )
        .order_by("code")
    )


class WorkCenterFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WorkCenter.Status.choices)

    class Meta:
        model = WorkCenter
        fields = ["status", "active"]


class WorkCenterListCreateView(generics.ListAPIView):
    """Work centers with their shifts, calendar exceptions and changeover matrix; create or
    update one by its code."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.WorkCenterOutput
    filterset_class = WorkCenterFilter
    ordering_fields = ["code"]
    ordering = ["code"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _work_centers()

    @extend_schema(
        request=s.WorkCenterInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={201: s.WorkCenterOutput, 200: s.WorkCenterOutput, 400: PROBLEM, 412: PROBLEM},
        description="Create or update a work center by `code`. `shifts`, "
        "`calendar_exceptions` and `changeovers` left out keep what is stored; sent, each "
        "replaces the stored list. Status (up / down) follows downtime reports. With "
        "If-Match, an update is refused (412) when the work center changed since it was read.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.WorkCenterInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        lists = {
            "shifts": [ShiftInput(**row) for row in v.pop("shifts")] if "shifts" in v else None,
            "calendar_exceptions": [
                CalendarExceptionInput(**row) for row in v.pop("calendar_exceptions")
            ]
            if "calendar_exceptions" in v
            else None,
            "changeovers": [ChangeoverInput(**row) for row in v.pop("changeovers")]
            if "changeovers" in v
            else None,
        }
        with transaction.atomic():
            current = _work_centers().select_for_update(of=("self",)).filter(code=v["code"]).first()
            if current is not None:
                check_if_match(request, s.WorkCenterOutput(current).data)
            wc, created = work_center_upsert(**v, **lists)
        wc = _work_centers().get(pk=wc.pk)
        return with_etag(
            s.WorkCenterOutput(wc).data, 201 if created else 200, f"/api/v1/work-centers/{wc.code}/"
        )


class WorkCenterDetailView(APIView):
    read_scope = MASTERDATA["read_scope"]

    @extend_schema(responses={200: s.WorkCenterOutput, 404: PROBLEM})
    def get(self, request: Request, code: str) -> Response:
        return detail_response(
            request, s.WorkCenterOutput(get_object_or_404(_work_centers(), code=code)).data
        )


# --- routings ---------------------------------------------------------------------------------


def _routings() -> QuerySet[Routing]:
    return (
        Routing.objects.select_related("item")
        .prefetch_related(
            Prefetch(
                "operations",
                queryset=RoutingOperation.objects.select_related(
                    "work_center", "changeover_family"
                ).order_by("sequence"),
            )
        )
        .order_by("item__sku")
    )


class RoutingFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku", help_text="The made item's SKU.")
    work_center = django_filters.CharFilter(
        field_name="operations__work_center__code",
        distinct=True,
        help_text="Routings with an operation at this work center (code).",
    )

    class Meta:
        model = Routing
        fields = ["item", "work_center"]


class RoutingListCreateView(generics.ListAPIView):
    """Routings per item; replace one item's whole routing."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.RoutingOutput
    filterset_class = RoutingFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _routings()

    @extend_schema(
        request=s.RoutingInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={201: s.RoutingOutput, 200: s.RoutingOutput, 400: PROBLEM, 412: PROBLEM},
        description="Create or replace the routing of `item` (a SKU): the operations sent "
        "are the whole routing, in `sequence` order, work centers and changeover families "
        "by code. Work orders already planned keep their operations.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.RoutingInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        item = v["item"]
        with transaction.atomic():
            current = _routings().select_for_update(of=("self",)).filter(item=item).first()
            if current is not None:
                check_if_match(request, s.RoutingOutput(current).data)
            routing, created = routing_upsert(
                item=item,
                revision=v.get("revision", ...),
                operations=[RoutingStepInput(**row) for row in v["operations"]],
            )
        routing = _routings().get(pk=routing.pk)
        return with_etag(
            s.RoutingOutput(routing).data, 201 if created else 200, f"/api/v1/routings/{item.sku}/"
        )


class RoutingDetailView(APIView):
    read_scope = MASTERDATA["read_scope"]

    @extend_schema(responses={200: s.RoutingOutput, 404: PROBLEM})
    def get(self, request: Request, sku: str) -> Response:
        return detail_response(
            request, s.RoutingOutput(get_object_or_404(_routings(), item__sku=sku)).data
        )


# --- work orders ------------------------------------------------------------------------------


def _work_orders() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.select_related("item", "sales_order_line__order")


def _get_work_order(number: str) -> WorkOrder:
    return get_object_or_404(
        _work_orders().select_related("sales_order_line__order__customer"), number=number
    )


# API action -> work order transition; release has its own endpoint (override fields).
TRANSITION_ENDPOINTS = {
    "hold": "hold",
    "release-hold": "release_hold",
    "unrelease": "unrelease",
    "cancel": "cancel",
    "close": "close",
}


def _allowed_actions(wo: WorkOrder, user: Any) -> list[str]:
    names = {t.name for t in available_transitions(wo, user)}
    actions = [action for action, name in TRANSITION_ENDPOINTS.items() if name in names]
    if wo.state == WorkOrderState.PLANNED and user.has_perm("planning.release_workorder"):
        actions.insert(0, "release")
    if wo.state in {
        WorkOrderState.PLANNED,
        WorkOrderState.RELEASED,
        WorkOrderState.IN_PROGRESS,
        WorkOrderState.ON_HOLD,
    } and user.has_perm("planning.expedite_workorder"):
        actions.append("expedite")
    return actions


def _work_order_data(request: Request, wo: WorkOrder) -> dict[str, Any]:
    operations = list(
        Operation.objects.filter(work_order=wo)
        .select_related("work_order", "work_center", "changeover_family")
        .order_by("sequence")
    )
    blockers = (
        services.release_check(work_order=wo).blockers if wo.state == WorkOrderState.PLANNED else []
    )
    return {
        **s.WorkOrderOutput(wo).data,
        "operations": s.OperationOutput(operations, many=True).data,
        "release_blockers": [
            {"code": b.code, "message": b.message, "rule": b.rule} for b in blockers
        ],
        "allowed_transitions": _allowed_actions(wo, request.user),
    }


def _work_order_response(request: Request, number: str, code: int = 200) -> Response:
    wo = _get_work_order(number)
    return with_etag(_work_order_data(request, wo), code, f"/api/v1/work-orders/{wo.number}/")


class WorkOrderFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=WorkOrderState.choices)
    kind = django_filters.ChoiceFilter(choices=WorkOrder.Kind.choices)
    item = django_filters.CharFilter(field_name="item__sku", help_text="The item's SKU.")
    sales_order = django_filters.CharFilter(
        field_name="sales_order_line__order__number", help_text="The sales order's number."
    )
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = WorkOrder
        fields = ["state", "kind", "item", "expedite"]


class WorkOrderListCreateView(generics.ListAPIView):
    """Work orders by priority; plan a make-to-stock work order."""

    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]
    serializer_class = s.WorkOrderOutput
    filterset_class = WorkOrderFilter
    ordering_fields = ["priority_score", "due_date", "number", "created_at", "updated_at"]
    ordering = ["-priority_score", "due_date", "id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _work_orders()

    @extend_schema(
        request=s.WorkOrderCreateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.WorkOrderDetailOutput, 400: PROBLEM, 403: PROBLEM},
        description="Plan a make-to-stock work order: operations from the item's routing, "
        "components reserved. Use an Idempotency-Key: a retry without one plans a second "
        "work order.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.WorkOrderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        wo = services.work_order_create(user=request.user, **data.validated_data)
        return _work_order_response(request, wo.number, status.HTTP_201_CREATED)


class WorkOrdersFromSalesOrderView(APIView):
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.FromSalesOrderInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.WorkOrderOutput(many=True),
            200: s.WorkOrderOutput(many=True),
            400: PROBLEM,
            403: PROBLEM,
            409: PROBLEM,
        },
        description="Make to order: one work order per confirmed line of a made item that "
        "has none yet. 201 with the work orders made; 200 with an empty list when every "
        "line has its work order already.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        from orders.models import SalesOrder

        data = s.FromSalesOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = SalesOrder.objects.filter(number=data.validated_data["order"]).first()
        if order is None:
            raise ValidationFailed(
                f"Unknown sales order {data.validated_data['order']}.", field="order"
            )
        created = services.work_orders_for_sales_order(order=order, user=request.user)
        rows = _work_orders().filter(pk__in=[wo.pk for wo in created]).order_by("id")
        return Response(
            s.WorkOrderOutput(rows, many=True).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class WorkOrderDetailView(APIView):
    read_scope = PLANNING["read_scope"]

    @extend_schema(
        responses={200: s.WorkOrderDetailOutput, 404: PROBLEM},
        description="A work order with its operations, the explanation of its priority, "
        "every reason it cannot be released (when planned) and the actions allowed now.",
    )
    def get(self, request: Request, number: str) -> Response:
        return detail_response(request, _work_order_data(request, _get_work_order(number)))


def _locked_for_update(request: Request, number: str) -> WorkOrder:
    """The work order, row-locked, refused (412) when If-Match names an older version."""
    wo = _get_work_order(number)
    WorkOrder.objects.select_for_update().filter(pk=wo.pk).first()
    if request.headers.get("If-Match"):
        check_if_match(request, _work_order_data(request, _get_work_order(number)))
    return _get_work_order(number)


class WorkOrderReleaseView(APIView):
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.ReleaseInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={
            200: s.WorkOrderDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="Release to the floor. With blocking reasons the answer is 409 "
        "`release_blocked` naming them all; a client whose role may override sends "
        "`override_reason_code` and `override_note` to release anyway (recorded).",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.ReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            wo = _locked_for_update(request, number)
            services.work_order_release(
                work_order=wo,
                user=request.user,
                override_reason_code=v["override_reason_code"] or None,
                override_note=v["override_note"],
            )
        return _work_order_response(request, number)


class WorkOrderExpediteView(APIView):
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.ExpediteInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={
            200: s.WorkOrderDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="Set or clear the governed expedite flag, with a reason (counted).",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.ExpediteInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            wo = _locked_for_update(request, number)
            services.work_order_expedite(work_order=wo, user=request.user, **data.validated_data)
        return _work_order_response(request, number)


class WorkOrderTransitionView(APIView):
    """Run one transition. `409` names the current state and the allowed transitions."""

    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.WorkOrderTransitionInput,
        parameters=[
            IDEMPOTENCY_HEADER,
            IF_MATCH_HEADER,
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(TRANSITION_ENDPOINTS)),
        ],
        responses={
            200: s.WorkOrderDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="`hold`, `unrelease` and `cancel` need `reason_code` and `comment`.",
        operation_id="work_orders_transition",
    )
    @idempotent
    def post(self, request: Request, number: str, action: str) -> Response:
        if action not in TRANSITION_ENDPOINTS:
            raise ValidationFailed(
                f"Unknown action {action!r}. Known: release, expedite, "
                f"{', '.join(TRANSITION_ENDPOINTS)}.",
                field="action",
            )
        data = s.WorkOrderTransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            wo = _locked_for_update(request, number)
            services.work_order_transition(
                work_order=wo,
                user=request.user,
                transition=TRANSITION_ENDPOINTS[action],
                reason_code=data.validated_data["reason_code"] or None,
                comment=data.validated_data["comment"],
            )
        return _work_order_response(request, number)


# --- operations -------------------------------------------------------------------------------


class OperationFilter(django_filters.FilterSet):
    work_center = django_filters.CharFilter(
        field_name="work_center__code", help_text="A work center code."
    )
    state = django_filters.MultipleChoiceFilter(choices=OperationState.choices)
    work_order = django_filters.CharFilter(
        field_name="work_order__number", help_text="A work order number."
    )
    scheduled_from = django_filters.IsoDateTimeFilter(
        field_name="scheduled_start", lookup_expr="gte"
    )
    scheduled_to = django_filters.IsoDateTimeFilter(field_name="scheduled_start", lookup_expr="lt")

    class Meta:
        model = Operation
        fields = ["work_center", "state", "work_order"]


class OperationListView(generics.ListAPIView):
    """Operations by work center and state, in the schedule's order."""

    read_scope = PLANNING["read_scope"]
    serializer_class = s.OperationOutput
    filterset_class = OperationFilter
    ordering_fields = ["scheduled_start", "dispatch_rank", "id"]
    ordering = ["work_center__code", "dispatch_rank", "scheduled_start", "id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Operation.objects.select_related("work_order", "work_center", "changeover_family")


# --- schedule runs -----------------------------------------------------------------------------


class ScheduleRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ScheduleRun.Status.choices)
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gt")

    class Meta:
        model = ScheduleRun
        fields = ["status"]


class ScheduleRunListCreateView(generics.ListAPIView):
    """Schedule runs, newest first; request a run."""

    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]
    serializer_class = s.ScheduleRunOutput
    filterset_class = ScheduleRunFilter
    ordering = ["-started_at", "-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ScheduleRun.objects.select_related("requested_by")

    @extend_schema(
        request=s.ScheduleRequestInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: s.ScheduleRequestOutput, 400: PROBLEM, 403: PROBLEM},
        description="Ask for a schedule run now; it runs in the worker. Poll the list for "
        "its result.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        from ..tasks import run_schedule

        data = s.ScheduleRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.has_perm("planning.plan_workorder"):
            raise NotPermitted("You are not allowed to run the schedule.")
        trigger = (data.validated_data["trigger"] or "requested over the API").strip()
        user_id = request.user.pk
        transaction.on_commit(
            lambda: run_schedule.apply_async(kwargs={"trigger": trigger, "user_id": user_id})
        )
        return Response(
            s.ScheduleRequestOutput({"status": "requested", "trigger": trigger}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ScheduleRunDetailView(APIView):
    read_scope = PLANNING["read_scope"]

    @extend_schema(responses={200: s.ScheduleRunDetailOutput, 404: PROBLEM})
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(ScheduleRun.objects.select_related("requested_by"), pk=pk)
        return detail_response(request, s.ScheduleRunDetailOutput(run).data)


# --- downtime ----------------------------------------------------------------------------------


def _downtimes() -> QuerySet[Downtime]:
    return Downtime.objects.select_related("work_center", "reason_code", "reported_by", "ended_by")


class DowntimeFilter(django_filters.FilterSet):
    work_center = django_filters.CharFilter(field_name="work_center__code")
    open = django_filters.BooleanFilter(
        field_name="ended_at", lookup_expr="isnull", help_text="true: still down."
    )
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gt")

    class Meta:
        model = Downtime
        fields = ["work_center", "open"]


class DowntimeListView(generics.ListAPIView):
    """Downtime records, newest first."""

    read_scope = PLANNING["read_scope"]
    serializer_class = s.DowntimeOutput
    filterset_class = DowntimeFilter
    ordering = ["-started_at", "-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _downtimes()


def _work_center(code: str) -> WorkCenter:
    return get_object_or_404(WorkCenter, code=code)


class WorkCenterDownView(APIView):
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.DowntimeInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.DowntimeOutput, 400: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM},
        description="Report the work center down (a machine gateway or the ERP): running "
        "operations pause, `workcenter.down` is emitted and the schedule re-runs around it. "
        "409 `already_down` when it is down already.",
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        data = s.DowntimeInput(data=request.data)
        data.is_valid(raise_exception=True)
        downtime = services.downtime_report(
            work_center=_work_center(code), user=request.user, **data.validated_data
        )
        return Response(
            s.DowntimeOutput(_downtimes().get(pk=downtime.pk)).data, status=status.HTTP_201_CREATED
        )


class WorkCenterUpView(APIView):
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["write_scope"]

    @extend_schema(
        request=s.BringUpInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.DowntimeOutput, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM},
        description="Bring the work center back up: its open downtime is closed and "
        "`workcenter.up` emitted. 409 `not_down` when it is not down.",
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        data = s.BringUpInput(data=request.data)
        data.is_valid(raise_exception=True)
        downtime = services.work_center_bring_up(
            work_center=_work_center(code), user=request.user, note=data.validated_data["note"]
        )
        return Response(s.DowntimeOutput(_downtimes().get(pk=downtime.pk)).data)


# --- capable to promise -----------------------------------------------------------------------


def _promise(*, item: Any, quantity: Any, requested: Any) -> dict[str, Any]:
    """Capable-to-promise for routed items; the order lines' lead-time rule otherwise."""
    from orders.models import SalesOrderLine
    from orders.services import line_promise_compute, plant_today

    today = plant_today()
    found = promise_compute(item=item, quantity=quantity, requested_date=requested, today=today)
    if found is not None:
        return {
            "promise_date": found.date,
            "basis": found.basis,
            "method": "capable_to_promise",
            "material_date": found.material_date,
            "capacity_date": found.capacity_date,
        }
    line = SalesOrderLine(item=item, quantity=quantity, requested_date=requested)
    date, basis = line_promise_compute(line=line, today=today)
    return {
        "promise_date": date,
        "basis": basis,
        "method": "lead_time",
        "material_date": None,
        "capacity_date": None,
    }


class PromiseView(APIView):
    """A promise date for a possible order line; nothing is stored or reserved."""

    # Computing a promise changes nothing: reading the plan is enough.
    read_scope = PLANNING["read_scope"]
    write_scope = PLANNING["read_scope"]

    @extend_schema(
        request=s.PromiseInput,
        responses={200: s.PromiseOutput, 400: PROBLEM, 403: PROBLEM},
        description="Capable-to-promise for the ERP: for an item with a routing, the "
        "earliest date the free capacity of its work centers (after the current schedule) "
        "and its material allow; for an unrouted item, the lead-time rule order lines use "
        "(requested date, or today + lead time when later). Needs `planning:read`.",
    )
    def post(self, request: Request) -> Response:
        data = s.PromiseInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        promise = _promise(item=v["item"], quantity=v["quantity"], requested=v["requested_date"])
        return Response(
            s.PromiseOutput(
                {
                    "item": v["item"].sku,
                    "quantity": v["quantity"],
                    "requested_date": v["requested_date"],
                    **promise,
                }
            ).data
        )
