"""ERP-facing endpoints: thin views that parse, call one service and render."""

from __future__ import annotations

import functools

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.core.api.conditional import check_if_match, etag_for, if_none_match_hits
from mes.core.api.idempotency import idempotent
from mes.core.api.schema import IDEMPOTENCY_HEADER, IF_MATCH_HEADER, PROBLEM
from mes.core.errors import Conflict, ValidationFailed

from .. import services
from ..models import ChangeRequest, Customer, OrderState, SalesOrder, SalesOrderLine, ShipToAddress
from ..selectors import change_requests_list
from . import serializers as s


def _order_queryset():  # type: ignore[no-untyped-def]
    return SalesOrder.objects.select_related("customer", "ship_to").prefetch_related(
        Prefetch("lines", queryset=SalesOrderLine.objects.select_related("item"))
    )


def _get_order(number: str) -> SalesOrder:
    return get_object_or_404(_order_queryset(), number=number)


def _ship_to(customer: Customer, label: str) -> ShipToAddress | None:
    if not label:
        return None
    found = ShipToAddress.objects.filter(customer=customer, label=label).first()
    if found is None:
        raise ValidationFailed(
            f"{customer.code} has no ship-to address labelled {label!r}.", field="ship_to"
        )
    return found


def _detail_response(
    request: Request, order: SalesOrder, code: int = 200, *, fresh: bool = False
) -> Response:
    """The order as the ERP reads it, with its ETag. `fresh=True`: `order` was just written
    with its lines, customer and items in memory, so nothing is read back."""
    if not fresh:
        order = _get_order(order.number)
    data = s.OrderDetailOutput(order, context={"request": request}).data
    response = Response(data, status=code)
    response["ETag"] = etag_for(data)
    response["Location"] = f"/api/v1/orders/{order.number}/"
    return response


class OrderFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=OrderState.choices)
    customer = django_filters.CharFilter(field_name="customer__code")
    external_id = django_filters.CharFilter()
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")
    promise_from = django_filters.DateFilter(
        field_name="lines__promise_date", lookup_expr="gte", distinct=True
    )
    promise_to = django_filters.DateFilter(
        field_name="lines__promise_date", lookup_expr="lte", distinct=True
    )

    class Meta:
        model = SalesOrder
        fields = ["state", "customer", "external_id"]


class OrderListCreateView(generics.GenericAPIView):
    """List orders; create or update one by its ERP id (`external_id`)."""

    read_scope = "orders:read"
    write_scope = "orders:write"
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "updated_at", "number", "priority"]
    ordering = ["-created_at", "-id"]
    serializer_class = s.OrderOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _order_queryset()

    @extend_schema(responses=s.OrderOutput(many=True))
    def get(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.OrderOutput(page, many=True).data)

    @extend_schema(
        request=s.OrderUpsertInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.OrderDetailOutput,
            200: s.OrderDetailOutput,
            400: PROBLEM,
            409: PROBLEM,
            422: PROBLEM,
        },
        description="Create the order, or update it when `external_id` is known. A draft is "
        "replaced; a confirmed order accepts header edits only (lines change through "
        "change requests).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.OrderUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upsert = functools.partial(
            services.sales_order_upsert_external,
            external_id=v["external_id"],
            customer=v["customer"],
            user=request.user,
            lines=[services.LineInput(**line) for line in v["lines"]],
            customer_po=v["customer_po"],
            ship_to=_ship_to(v["customer"], v["ship_to"]),
            notes=v["notes"],
        )
        try:
            order, created = upsert()
        except (IntegrityError, Conflict) as exc:
            if isinstance(exc, Conflict) and "external_id" not in exc.errors:
                raise
            # Another request created this external_id between our look-up and our
            # insert (ours rolled back): run once more, now as an update.
            order, created = upsert()
        return _detail_response(request, order, 201 if created else 200, fresh=created)


class OrderDetailView(APIView):
    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(responses={200: s.OrderDetailOutput, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        response = _detail_response(request, _get_order(number))
        if if_none_match_hits(request, response["ETag"]):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
        return response

    @extend_schema(
        request=s.OrderPatchInput,
        parameters=[IF_MATCH_HEADER],
        responses={200: s.OrderDetailOutput, 400: PROBLEM, 409: PROBLEM, 412: PROBLEM},
    )
    def patch(self, request: Request, number: str) -> Response:
        data = s.OrderPatchInput(data=request.data, context={"number": number})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            order = _get_order(number)
            SalesOrder.objects.select_for_update().filter(pk=order.pk).first()
            current = s.OrderDetailOutput(_get_order(number), context={"request": request}).data
            check_if_match(request, current)
            if "lines" in v or order.state == OrderState.DRAFT:
                order = services.sales_order_update_draft(
                    order=order,
                    user=request.user,
                    customer_po=v.get("customer_po"),
                    notes=v.get("notes"),
                    ship_to=order.ship_to,
                    lines=[services.LineInput(**line) for line in v["lines"]]
                    if "lines" in v
                    else None,
                )
            else:
                order = services.sales_order_update_notes(
                    order=order,
                    user=request.user,
                    customer_po=v.get("customer_po"),
                    notes=v.get("notes"),
                )
        return _detail_response(request, order)


TRANSITION_ENDPOINTS = {
    "confirm": "confirm",
    "start-production": "start_production",
    "mark-ready": "mark_ready",
    "close": "close",
    "hold": "hold",
    "release-hold": "release_hold",
    "cancel": "cancel",
}


class OrderTransitionView(APIView):
    """Run one transition. `409` names the current state and the allowed transitions."""

    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(
        request=s.TransitionInput,
        parameters=[
            IDEMPOTENCY_HEADER,
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(TRANSITION_ENDPOINTS)),
        ],
        responses={200: s.OrderDetailOutput, 400: PROBLEM, 403: PROBLEM, 409: PROBLEM},
        description="`hold` and `cancel` need `reason_code` and `comment`.",
        operation_id="orders_transition",
    )
    @idempotent
    def post(self, request: Request, number: str, action: str) -> Response:
        if action not in TRANSITION_ENDPOINTS:
            raise ValidationFailed(
                f"Unknown action {action!r}. Known: {', '.join(TRANSITION_ENDPOINTS)}.",
                field="action",
            )
        data = s.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.sales_order_transition(
            order=_get_order(number),
            user=request.user,
            transition=TRANSITION_ENDPOINTS[action],
            reason_code=data.validated_data["reason_code"] or None,
            comment=data.validated_data["comment"],
        )
        return _detail_response(request, order)


class OrderPriorityView(APIView):
    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(
        request=s.PriorityInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.OrderDetailOutput, 400: PROBLEM, 403: PROBLEM},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.PriorityInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_priority_change(
            order=_get_order(number),
            user=request.user,
            priority=data.validated_data["priority"],
            reason_code=data.validated_data["reason_code"],
            reason_text=data.validated_data["reason_text"],
        )
        return _detail_response(request, order)


class LinePromiseDateView(APIView):
    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(
        request=s.PromiseDateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.OrderDetailOutput, 400: PROBLEM, 403: PROBLEM},
    )
    @idempotent
    def post(self, request: Request, number: str, line_no: int) -> Response:
        data = s.PromiseDateInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = _get_order(number)
        line = get_object_or_404(SalesOrderLine, order=order, line_no=line_no)
        services.line_promise_date_change(
            line=line,
            user=request.user,
            promise_date=data.validated_data["promise_date"],
            reason_code=data.validated_data["reason_code"],
            reason_text=data.validated_data["reason_text"],
        )
        return _detail_response(request, order)


class OrderChangeRequestsView(APIView):
    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(responses=s.ChangeRequestOutput(many=True))
    def get(self, request: Request, number: str) -> Response:
        order = _get_order(number)
        crs = change_requests_list().filter(order=order)
        return Response(s.ChangeRequestOutput(crs, many=True).data)

    @extend_schema(
        request=s.ChangeRequestInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ChangeRequestOutput, 400: PROBLEM, 403: PROBLEM, 409: PROBLEM},
        description="Before production starts the change applies at once; once in "
        "production it waits for a planner's approval.",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.ChangeRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = _get_order(number)
        line = None
        if v.get("line_no") is not None:
            line = SalesOrderLine.objects.filter(order=order, line_no=v["line_no"]).first()
            if line is None:
                raise ValidationFailed(f"{order} has no line {v['line_no']}.", field="line_no")
        cr = services.change_request_create(
            order=order,
            user=request.user,
            kind=v["kind"],
            line=line,
            new_quantity=v.get("new_quantity"),
            new_date=v.get("new_date"),
            new_item=v.get("new_item"),
            reason_code=v["reason_code"],
            reason_text=v["reason_text"],
        )
        cr = change_requests_list().get(pk=cr.pk)
        return Response(s.ChangeRequestOutput(cr).data, status=status.HTTP_201_CREATED)


class ChangeRequestFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ChangeRequest.State.choices)
    order = django_filters.CharFilter(field_name="order__number")
    kind = django_filters.ChoiceFilter(choices=ChangeRequest.Kind.choices)

    class Meta:
        model = ChangeRequest
        fields = ["state", "order", "kind"]


class ChangeRequestListView(generics.GenericAPIView):
    read_scope = "orders:read"
    filterset_class = ChangeRequestFilter
    serializer_class = s.ChangeRequestOutput
    ordering_fields = ["requested_at"]
    ordering = ["-requested_at", "-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return change_requests_list()

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.ChangeRequestOutput(page, many=True).data)


class ChangeRequestDecisionView(APIView):
    read_scope = "orders:read"
    write_scope = "orders:write"

    @extend_schema(
        request=s.DecisionInput,
        parameters=[
            IDEMPOTENCY_HEADER,
            OpenApiParameter(
                "action", str, OpenApiParameter.PATH, enum=["approve", "reject", "apply"]
            ),
        ],
        responses={200: s.ChangeRequestOutput, 400: PROBLEM, 403: PROBLEM, 409: PROBLEM},
    )
    @idempotent
    def post(self, request: Request, number: str, action: str) -> Response:
        cr = get_object_or_404(ChangeRequest.objects.select_related("order"), number=number)
        data = s.DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data["note"]
        if action == "approve":
            cr = services.change_request_approve(change_request=cr, user=request.user, note=note)
        elif action == "reject":
            cr = services.change_request_reject(change_request=cr, user=request.user, note=note)
        elif action == "apply":
            cr = services.change_request_apply(change_request=cr, user=request.user)
        else:
            raise ValidationFailed(f"Unknown action {action!r}.", field="action")
        return Response(s.ChangeRequestOutput(change_requests_list().get(pk=cr.pk)).data)


class CustomerListCreateView(generics.GenericAPIView):
    read_scope = "masterdata:read"
    write_scope = "masterdata:write"
    serializer_class = s.CustomerOutput
    ordering = ["code"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Customer.objects.prefetch_related("ship_tos").order_by("code")

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.CustomerOutput(page, many=True).data)

    @extend_schema(
        request=s.CustomerInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.CustomerOutput, 200: s.CustomerOutput, 400: PROBLEM},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create or update a customer by its code."""
        data = s.CustomerInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer, created = services.customer_upsert(**data.validated_data)
        customer = self.get_queryset().get(pk=customer.pk)
        return Response(s.CustomerOutput(customer).data, status=201 if created else 200)
