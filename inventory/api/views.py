"""Inventory over the API: master data (items, BOMs, locations) under the masterdata
scopes; stock (lots, receipts, balances, moves, reservations, trace) under the inventory
scopes; placing and releasing quality holds under quality:write. Thin views: parse, call
one service or selector, render."""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
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

from ..models import (
    BillOfMaterials,
    BomLine,
    DemandType,
    ExpectedReceipt,
    Item,
    Location,
    Lot,
    MoveType,
    QualityHold,
    Reservation,
    StockMove,
)
from ..selectors import balances
from ..services.counts import stock_transfer
from ..services.holds import hold_place, hold_release
from ..services.items import BomLineInput, bom_upsert, item_upsert, location_upsert
from ..services.receipts import expected_receipt_upsert
from ..services.reservations import reservation_release, reservations_release_for_demand, reserve
from ..trace import trace_backward, trace_forward
from . import serializers as s


class ListView(generics.ListAPIView):
    """A paginated, filtered list rendered by `serializer_class`."""


# --- items -----------------------------------------------------------------------------


def _items() -> QuerySet[Item]:
    return Item.objects.select_related(
        "default_receiving_location", "default_stock_location"
    ).order_by("sku")


class ItemFilter(django_filters.FilterSet):
    tracking = django_filters.MultipleChoiceFilter(choices=Item.Tracking.choices)
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = Item
        fields = ["source", "active", "tracking", "backflush"]


class ItemListCreateView(ListView):
    """Items; create or update one by its SKU."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.ItemOutput
    filterset_class = ItemFilter
    ordering_fields = ["sku", "updated_at"]
    ordering = ["sku"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _items()

    @extend_schema(
        request=s.ItemInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={201: s.ItemOutput, 200: s.ItemOutput, 400: PROBLEM, 409: PROBLEM, 412: PROBLEM},
        description="Create or update an item by its SKU. Inventory fields left out keep "
        "their value; default locations are given by code. With If-Match, an update is "
        "refused (412) when the item changed since it was read.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            current = _items().select_for_update(of=("self",)).filter(sku=v["sku"]).first()
            if current is not None:
                check_if_match(request, s.ItemOutput(current).data)
            item, created = item_upsert(**v)
        item = _items().get(pk=item.pk)
        return with_etag(
            s.ItemOutput(item).data, 201 if created else 200, f"/api/v1/items/{item.sku}/"
        )


class ItemDetailView(APIView):
    read_scope = MASTERDATA["read_scope"]

    @extend_schema(responses={200: s.ItemOutput, 404: PROBLEM})
    def get(self, request: Request, sku: str) -> Response:
        return detail_response(request, s.ItemOutput(get_object_or_404(_items(), sku=sku)).data)


# --- bills of materials ----------------------------------------------------------------


def _boms() -> QuerySet[BillOfMaterials]:
    return (
        BillOfMaterials.objects.select_related("item")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=BomLine.objects.select_related("component").order_by("position", "id"),
            )
        )
        .order_by("item__sku")
    )


class BomFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku", help_text="The made item's SKU.")
    component = django_filters.CharFilter(
        field_name="lines__component__sku", distinct=True, help_text="BOMs using this SKU."
    )

    class Meta:
        model = BillOfMaterials
        fields = ["item", "component"]


class BomListCreateView(ListView):
    """Bills of materials; replace one item's whole BOM."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.BomOutput
    filterset_class = BomFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _boms()

    @extend_schema(
        request=s.BomInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={201: s.BomOutput, 200: s.BomOutput, 400: PROBLEM, 412: PROBLEM},
        description="Create or replace the bill of materials of `item` (a SKU): the lines "
        "sent are the whole BOM, components by SKU.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.BomInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        item = v["item"]
        with transaction.atomic():
            current = _boms().select_for_update(of=("self",)).filter(item=item).first()
            if current is not None:
                check_if_match(request, s.BomOutput(current).data)
            bom, created = bom_upsert(
                item=item,
                revision=v["revision"],
                lines=[BomLineInput(**line) for line in v["lines"]],
            )
        bom = _boms().get(pk=bom.pk)
        return with_etag(
            s.BomOutput(bom).data, 201 if created else 200, f"/api/v1/boms/{item.sku}/"
        )


class BomDetailView(APIView):
    read_scope = MASTERDATA["read_scope"]

    @extend_schema(responses={200: s.BomOutput, 404: PROBLEM})
    def get(self, request: Request, sku: str) -> Response:
        return detail_response(request, s.BomOutput(get_object_or_404(_boms(), item__sku=sku)).data)


# --- locations -------------------------------------------------------------------------


def _locations() -> QuerySet[Location]:
    return Location.objects.select_related("parent").order_by("code")


class LocationFilter(django_filters.FilterSet):
    type = django_filters.MultipleChoiceFilter(choices=Location.Type.choices)
    parent = django_filters.CharFilter(field_name="parent__code", help_text="A location code.")
    barcode = django_filters.CharFilter()

    class Meta:
        model = Location
        fields = ["type", "parent", "barcode", "active"]


class LocationListCreateView(ListView):
    """Locations (a tree); create or update one by its code."""

    read_scope = MASTERDATA["read_scope"]
    write_scope = MASTERDATA["write_scope"]
    serializer_class = s.LocationOutput
    filterset_class = LocationFilter
    ordering_fields = ["code", "pick_sequence"]
    ordering = ["code"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _locations()

    @extend_schema(
        request=s.LocationInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={
            201: s.LocationOutput,
            200: s.LocationOutput,
            400: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="Create or update a location by its code; `parent` is a code.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.LocationInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            current = _locations().select_for_update(of=("self",)).filter(code=v["code"]).first()
            if current is not None:
                check_if_match(request, s.LocationOutput(current).data)
            location, created = location_upsert(**v)
        location = _locations().get(pk=location.pk)
        return with_etag(
            s.LocationOutput(location).data,
            201 if created else 200,
            f"/api/v1/locations/{location.code}/",
        )


class LocationDetailView(APIView):
    read_scope = MASTERDATA["read_scope"]

    @extend_schema(responses={200: s.LocationOutput, 404: PROBLEM})
    def get(self, request: Request, code: str) -> Response:
        return detail_response(
            request, s.LocationOutput(get_object_or_404(_locations(), code=code)).data
        )


# --- lots ------------------------------------------------------------------------------


class LotFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku", help_text="SKU.")
    supplier_lot = django_filters.CharFilter()
    expires_before = django_filters.DateFilter(field_name="expiry_date", lookup_expr="lt")

    class Meta:
        model = Lot
        fields = ["item", "number", "supplier_lot", "is_serial"]


class LotListView(ListView):
    """Lots and serial numbers with their supplier lot and dates."""

    read_scope = "inventory:read"
    serializer_class = s.LotOutput
    filterset_class = LotFilter
    ordering_fields = ["number", "expiry_date", "created_at"]
    ordering = ["item__sku", "number"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Lot.objects.select_related("item")


# --- expected receipts -----------------------------------------------------------------


def _receipts() -> QuerySet[ExpectedReceipt]:
    return ExpectedReceipt.objects.select_related("item", "lot", "location")


class ReceiptFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ExpectedReceipt.State.choices)
    item = django_filters.CharFilter(field_name="item__sku", help_text="SKU.")
    due_from = django_filters.DateFilter(field_name="expected_date", lookup_expr="gte")
    due_to = django_filters.DateFilter(field_name="expected_date", lookup_expr="lte")
    late = django_filters.BooleanFilter(
        method="filter_late", help_text="Still expected and past its expected date."
    )

    class Meta:
        model = ExpectedReceipt
        fields = ["state", "item", "supplier", "po_number", "external_id"]

    def filter_late(self, queryset, name, value):  # type: ignore[no-untyped-def]
        late = Q(state=ExpectedReceipt.State.EXPECTED, expected_date__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)


class ReceiptListCreateView(ListView):
    """Expected receipts (PO lines, ASNs); announce or update one by its ERP id."""

    read_scope = "inventory:read"
    write_scope = "inventory:write"
    serializer_class = s.ReceiptOutput
    filterset_class = ReceiptFilter
    ordering_fields = ["expected_date", "number", "updated_at"]
    ordering = ["expected_date", "id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _receipts()

    @extend_schema(
        request=s.ReceiptInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={
            201: s.ReceiptOutput,
            200: s.ReceiptOutput,
            400: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="Create the expected receipt, or update it when `external_id` is known "
        "(only while it is still expected).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            current = (
                _receipts()
                .select_for_update(of=("self",))
                .filter(external_id=v["external_id"])
                .first()
            )
            if current is not None:
                check_if_match(request, s.ReceiptOutput(current).data)
            receipt, created = expected_receipt_upsert(**v)
        receipt = _receipts().get(pk=receipt.pk)
        return with_etag(
            s.ReceiptOutput(receipt).data,
            201 if created else 200,
            f"/api/v1/receipts/{receipt.number}/",
        )


class ReceiptDetailView(APIView):
    read_scope = "inventory:read"

    @extend_schema(responses={200: s.ReceiptOutput, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        receipt = get_object_or_404(_receipts(), number=number)
        return detail_response(request, s.ReceiptOutput(receipt).data)


# --- balances --------------------------------------------------------------------------


class BalanceFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku", help_text="SKU.")
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code.")
    location_type = django_filters.MultipleChoiceFilter(
        field_name="location__type", choices=Location.Type.choices
    )
    lot = django_filters.CharFilter(field_name="lot__number", help_text="Lot number.")
    available = django_filters.BooleanFilter(
        method="filter_available",
        help_text="true: only stock that may be used now (available, not held, expired or in "
        "quarantine); false: the rest.",
    )

    def filter_available(self, queryset, name, value):  # type: ignore[no-untyped-def]
        usable = Q(blocked=False, available__gt=0)
        return queryset.filter(usable) if value else queryset.exclude(usable)


class BalanceListView(ListView):
    """Stock on hand by item x location x lot: on hand, reserved, available."""

    read_scope = "inventory:read"
    serializer_class = s.BalanceOutput
    filterset_class = BalanceFilter
    ordering_fields = ["on_hand", "available", "updated_at"]
    ordering = ["item__sku", "location__code", "lot__number", "id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return balances()


# --- moves -----------------------------------------------------------------------------


class MoveFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku", help_text="SKU.")
    type = django_filters.MultipleChoiceFilter(choices=MoveType.choices)
    lot = django_filters.CharFilter(field_name="lot__number", help_text="Lot number.")
    location = django_filters.CharFilter(
        method="filter_location", help_text="Moves out of or into this location (a code)."
    )
    document_type = django_filters.CharFilter()
    document_ref = django_filters.CharFilter(help_text="e.g. a receipt or kit number.")
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = StockMove
        fields = ["item", "type", "lot", "document_type", "document_ref"]

    def filter_location(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset.filter(Q(from_location__code=value) | Q(to_location__code=value))


def _moves() -> QuerySet[StockMove]:
    return StockMove.objects.select_related(
        "item", "lot", "from_location", "to_location", "actor", "reason_code"
    )


class MoveListView(ListView):
    """The stock ledger, newest first."""

    read_scope = "inventory:read"
    serializer_class = s.MoveOutput
    filterset_class = MoveFilter
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _moves()


class TransferView(APIView):
    read_scope = "inventory:read"
    write_scope = "inventory:write"

    @extend_schema(
        request=s.TransferInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.MoveOutput, 400: PROBLEM, 403: PROBLEM, 409: PROBLEM},
        description="Move stock from one location to another; 409 when not enough is "
        "available there.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        move = stock_transfer(
            item=v["item"],
            from_location=v["from_location"],
            to_location=v["to_location"],
            quantity=v["quantity"],
            lot=s.resolve_lot(v["item"], v["lot"]),
            note=v["note"],
            actor=request.user,
        )
        return Response(s.MoveOutput(_moves().get(pk=move.pk)).data, status=201)


# --- reservations ----------------------------------------------------------------------


def _reservations() -> QuerySet[Reservation]:
    return Reservation.objects.select_related("item", "location", "lot")


class ReservationFilter(django_filters.FilterSet):
    demand_type = django_filters.ChoiceFilter(choices=DemandType.choices)
    item = django_filters.CharFilter(field_name="item__sku", help_text="SKU.")
    state = django_filters.MultipleChoiceFilter(choices=Reservation.State.choices)

    class Meta:
        model = Reservation
        fields = ["demand_type", "demand_id", "demand_ref", "demand_line", "item", "staged"]


class ReservationListCreateView(ListView):
    """Reservations by demand; reserve stock for a demand."""

    read_scope = "inventory:read"
    write_scope = "inventory:write"
    serializer_class = s.ReservationOutput
    filterset_class = ReservationFilter
    ordering = ["id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _reservations()

    @extend_schema(
        request=s.ReserveInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ReserveOutput, 400: PROBLEM, 403: PROBLEM},
        description="Reserve available stock in the item's FIFO/FEFO order, partially if "
        "need be: `shortfall` says what is missing (and material.shortage is raised).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ReserveInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = reserve(**data.validated_data, actor=request.user)
        made = list(_reservations().filter(pk__in=[r.pk for r in outcome.reservations]))
        body = {
            "reserved": outcome.reserved,
            "shortfall": outcome.shortfall,
            "reservations": made,
        }
        return Response(s.ReserveOutput(body).data, status=201)


class ReservationDetailView(APIView):
    read_scope = "inventory:read"
    write_scope = "inventory:write"

    @extend_schema(responses={200: s.ReservationOutput, 404: PROBLEM})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.ReservationOutput(get_object_or_404(_reservations(), pk=pk)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("reason", str, description="Why it is released (for the record).")
        ],
        responses={200: s.ReservationOutput, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM},
        description="Release what is still open of the reservation.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        reservation = get_object_or_404(_reservations(), pk=pk)
        released = reservation_release(
            reservation=reservation,
            actor=request.user,
            reason=request.query_params.get("reason", "")[:500],
        )
        return Response(s.ReservationOutput(_reservations().get(pk=released.pk)).data)


class DemandReleaseView(APIView):
    read_scope = "inventory:read"
    write_scope = "inventory:write"

    @extend_schema(
        request=s.DemandInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.ReleasedOutput, 400: PROBLEM, 403: PROBLEM},
        description="Release every open reservation of one demand (e.g. a cancelled order).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.DemandInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = reservations_release_for_demand(**data.validated_data, actor=request.user)
        return Response(s.ReleasedOutput({"released": count}).data)


# --- quality holds ---------------------------------------------------------------------


def _holds() -> QuerySet[QualityHold]:
    return QualityHold.objects.select_related(
        "lot__item", "location", "reason_code", "placed_by", "released_by", "release_reason_code"
    )


class HoldFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=QualityHold.State.choices)
    scope = django_filters.ChoiceFilter(choices=QualityHold.Scope.choices)
    item = django_filters.CharFilter(field_name="lot__item__sku", help_text="SKU (lot holds).")
    lot = django_filters.CharFilter(field_name="lot__number")
    location = django_filters.CharFilter(field_name="location__code")

    class Meta:
        model = QualityHold
        fields = ["state", "scope", "item", "lot", "location", "work_order_ref"]


class HoldListCreateView(ListView):
    """Quality holds, newest first; placing one needs quality:write."""

    read_scope = "inventory:read"
    write_scope = "quality:write"
    serializer_class = s.HoldOutput
    filterset_class = HoldFilter
    ordering = ["-placed_at", "-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _holds()

    @extend_schema(
        request=s.HoldInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.HoldOutput, 400: PROBLEM, 403: PROBLEM},
        description="Hold a lot (`item` + `lot`), a location or a work order's material: "
        "nothing it covers can be reserved, picked, issued or shipped until released.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.HoldInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        hold = hold_place(
            scope=v["scope"],
            lot=v["lot"],
            location=v["location"],
            work_order_id=v.get("work_order_id"),
            work_order_ref=v["work_order_ref"],
            reason_code=v["reason_code"],
            note=v["note"],
            actor=request.user,
        )
        hold = _holds().get(pk=hold.pk)
        return with_etag(s.HoldOutput(hold).data, 201, f"/api/v1/holds/{hold.number}/")


class HoldDetailView(APIView):
    read_scope = "inventory:read"

    @extend_schema(responses={200: s.HoldOutput, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        return detail_response(
            request, s.HoldOutput(get_object_or_404(_holds(), number=number)).data
        )


class HoldReleaseView(APIView):
    read_scope = "inventory:read"
    write_scope = "quality:write"

    @extend_schema(
        request=s.HoldReleaseInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={200: s.HoldOutput, 400: PROBLEM, 403: PROBLEM, 409: PROBLEM, 412: PROBLEM},
        description="Release the hold, with a reason.",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.HoldReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            hold = get_object_or_404(_holds().select_for_update(of=("self",)), number=number)
            check_if_match(request, s.HoldOutput(hold).data)
            hold = hold_release(hold=hold, actor=request.user, **data.validated_data)
        return with_etag(s.HoldOutput(_holds().get(pk=hold.pk)).data)


# --- trace -----------------------------------------------------------------------------


class TraceView(APIView):
    read_scope = "inventory:read"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "direction",
                str,
                enum=["backward", "forward"],
                description="backward (default): what went into the lot, down to supplier "
                "lots; forward: where it went, up to shipments and customers.",
            )
        ],
        responses={200: s.TraceOutput, 400: PROBLEM, 404: PROBLEM},
    )
    def get(self, request: Request, sku: str, number: str) -> Response:
        lot = get_object_or_404(Lot.objects.select_related("item"), item__sku=sku, number=number)
        direction = request.query_params.get("direction", "backward")
        if direction not in {"backward", "forward"}:
            raise ValidationError({"direction": ["Use backward or forward."]})
        nodes = (trace_backward if direction == "backward" else trace_forward)(lot=lot)
        body = {"item": sku, "lot": number, "direction": direction, "nodes": nodes}
        numbers = {node.lot.pk: node.lot.number for node in nodes}
        return Response(s.TraceOutput(body, context={"lot_numbers": numbers}).data)
