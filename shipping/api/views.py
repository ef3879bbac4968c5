"""Shipments for integration clients: list and filter, detail with lines, lots, packages
and documents, planning a shipment from order lines, the carrier's delivery confirmation
and the PDF documents. Thin views: parse, call one service or selector, render.

The ERP hears of handovers through a webhook: it subscribes to `shipment.handed_over`
(and `shipment.delivered`) at `POST /api/v1/webhooks/` (scope webhooks:write)."""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, renderers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from inventory.models import Location
from mes.core.api.conditional import check_if_match, etag_for, if_none_match_hits
from mes.core.api.idempotency import idempotent
from mes.core.api.schema import IDEMPOTENCY_HEADER, IF_MATCH_HEADER, PROBLEM
from mes.core.errors import NotFound
from orders.models import SalesOrderLine

from .. import services
from ..models import Package, Shipment, ShipmentDocument, ShipmentLine, ShipmentState
from ..selectors import shipment_detail, shipment_document_content
from . import serializers as s

SCOPES = {"read_scope": "shipping:read", "write_scope": "shipping:write"}


def _count(model: Any) -> Coalesce:
    rows = (
        model.objects.filter(shipment_id=OuterRef("pk"))
        .order_by()
        .values("shipment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _shipments() -> QuerySet[Shipment]:
    """Shipments in any state with what the list shows: two queries for a whole page."""
    return (
        Shipment.objects.select_related("customer", "ship_to", "dock_location", "carrier")
        .annotate(line_count=_count(ShipmentLine), package_count=_count(Package))
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("sales_order_line__order"),
            )
        )
    )


def _get(number: str) -> Shipment:
    return get_object_or_404(Shipment.objects.select_related("customer"), number=number)


def _detail_data(shipment: Shipment) -> dict[str, Any]:
    return s.shipment_detail_data(shipment_detail(shipment.pk))


def _detail_response(request: Request, shipment: Shipment, code: int = 200) -> Response:
    data = _detail_data(shipment)
    response = Response(data, status=code)
    response["ETag"] = etag_for(data)
    response["Location"] = f"/api/v1/shipments/{shipment.number}/"
    return response


class ShipmentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ShipmentState.choices)
    customer = django_filters.CharFilter(field_name="customer__code", help_text="A customer code.")
    order = django_filters.CharFilter(
        field_name="lines__sales_order_line__order__number",
        distinct=True,
        help_text="Shipments carrying lines of this sales order (its number).",
    )
    ship_date = django_filters.DateFilter(field_name="planned_ship_date")
    ship_date_from = django_filters.DateFilter(field_name="planned_ship_date", lookup_expr="gte")
    ship_date_to = django_filters.DateFilter(field_name="planned_ship_date", lookup_expr="lte")
    tracking_number = django_filters.CharFilter()
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = Shipment
        fields = ["state", "customer", "order", "ship_date", "tracking_number"]


def _order_lines(lines: list[dict[str, Any]]) -> list[tuple[SalesOrderLine, Any]]:
    """Each input line's order line, read in one query; unknown ones are field errors."""
    numbers = {line["order"] for line in lines}
    found = {
        (row.order.number, row.line_no): row
        for row in SalesOrderLine.objects.filter(order__number__in=numbers).select_related("order")
    }
    errors: list[dict[str, list[str]]] = []
    for line in lines:
        key = (line["order"], line["line_no"])
        if key in found:
            errors.append({})
        elif not any(number == line["order"] for number, _no in found):
            errors.append({"order": [_("Unknown order %(order)s.") % {"order": line["order"]}]})
        else:
            errors.append(
                {"line_no": [_("%(order)s has no line %(no)s.") % {"order": key[0], "no": key[1]}]}
            )
    if any(errors):
        raise ValidationError({"lines": errors})
    return [(found[(line["order"], line["line_no"])], line["quantity"]) for line in lines]


def _dock(code: str) -> Location | None:
    if not code:
        return None
    dock = Location.objects.filter(code=code).first()
    if dock is None:
        raise ValidationError({"dock": [_("Unknown location %(code)s.") % {"code": code}]})
    return dock


class ShipmentListCreateView(generics.GenericAPIView):
    """Shipments, newest first; plan one from order lines."""

    filterset_class = ShipmentFilter
    serializer_class = s.ShipmentOutput
    ordering_fields = ["created_at", "updated_at", "planned_ship_date", "handed_over_at", "number"]
    ordering = ["-created_at", "-id"]
    read_scope = SCOPES["read_scope"]
    write_scope = SCOPES["write_scope"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _shipments()

    @extend_schema(responses=s.ShipmentOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.ShipmentOutput(page, many=True).data)

    @extend_schema(
        request=s.ShipmentCreateInput,
        responses={201: s.ShipmentDetailOutput, 400: PROBLEM, 403: PROBLEM},
        parameters=[IDEMPOTENCY_HEADER],
        description="Plan a shipment of order lines (one customer and ship-to, orders ready "
        "to ship or partially shipped): their stock is reserved at once (a shortfall is "
        "reported as material.shortage and picked short later). Each line ships at most "
        "what is left of it after other open shipments.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ShipmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        lines = _order_lines(v["lines"])
        dock = _dock(v["dock"])
        shipment = services.shipment_create(
            lines=lines,
            user=request.user,
            planned_ship_date=v["planned_ship_date"],
            dock_location=dock,
            notes=v["notes"],
        )
        return _detail_response(request, shipment, status.HTTP_201_CREATED)


class ShipmentDetailView(APIView):
    read_scope = SCOPES["read_scope"]

    @extend_schema(responses={200: s.ShipmentDetailOutput, 304: None, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        response = _detail_response(request, _get(number))
        if if_none_match_hits(request, response["ETag"]):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
        return response


class ShipmentConfirmDeliveryView(APIView):
    """handed_over -> delivered, as the carrier or the customer reports it. `409` names the
    current state and the allowed transitions."""

    read_scope = SCOPES["read_scope"]
    write_scope = SCOPES["write_scope"]

    @extend_schema(
        request=s.DeliveryInput,
        parameters=[IDEMPOTENCY_HEADER, IF_MATCH_HEADER],
        responses={
            200: s.ShipmentDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
            412: PROBLEM,
        },
        description="Emits `shipment.delivered` (webhooks tell subscribers).",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.DeliveryInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            shipment = _get(number)
            if request.headers.get("If-Match"):
                Shipment.objects.select_for_update().filter(pk=shipment.pk).first()
                check_if_match(request, _detail_data(shipment))
            shipment = services.shipment_confirm_delivery(
                shipment=shipment,
                actor=request.user,
                delivered_at=data.validated_data["delivered_at"],
                note=data.validated_data["note"],
            )
        return _detail_response(request, shipment)


class PdfRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; problems still render as JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):  # type: ignore[no-untyped-def]
        if isinstance(data, bytes):
            return data
        return json.dumps(data, cls=JSONEncoder).encode()


class ShipmentDocumentView(APIView):
    """A stored PDF: packing slip, bill of lading or package labels."""

    read_scope = SCOPES["read_scope"]
    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind", str, OpenApiParameter.PATH, enum=list(ShipmentDocument.Kind.values)
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            304: None,
            404: PROBLEM,
        },
        description="The PDF as stored with the shipment; its ETag is its SHA-256.",
    )
    def get(self, request: Request, number: str, kind: str) -> HttpResponse:
        if kind not in ShipmentDocument.Kind.values:
            raise NotFound(
                _("Unknown document %(kind)s. Known: %(known)s.")
                % {"kind": kind, "known": ", ".join(ShipmentDocument.Kind.values)}
            )
        shipment = _get(number)
        document = shipment_document_content(shipment=shipment, kind=kind)
        if document is None:
            raise NotFound(
                _("%(shipment)s has no %(document)s yet: it is printed once it is packed.")
                % {
                    "shipment": shipment.number,
                    "document": str(ShipmentDocument.Kind(kind).label).lower(),
                }
            )
        etag = f'"{document.sha256}"'
        if if_none_match_hits(request, etag):
            return HttpResponse(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        response = HttpResponse(bytes(document.content), content_type="application/pdf")
        response["ETag"] = etag
        response["Content-Disposition"] = f'inline; filename="{shipment.number}-{kind}.pdf"'
        return response
