"""Item master data for the ERP."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from mes.core.api.idempotency import idempotent

from .. import services
from ..models import Item


class ItemOutput(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["sku", "name", "unit", "source", "lead_time_days", "active", "updated_at"]


class ItemInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    unit = serializers.CharField(max_length=16, default="pcs")
    source = serializers.ChoiceField(choices=Item.Source.choices, default=Item.Source.MAKE)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=3650, default=0)
    active = serializers.BooleanField(default=True)


class ItemListCreateView(generics.GenericAPIView):
    read_scope = "masterdata:read"
    write_scope = "masterdata:write"
    serializer_class = ItemOutput
    filterset_fields = ["source", "active"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Item.objects.order_by("sku")

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ItemOutput(page, many=True).data)

    @extend_schema(
        request=ItemInput,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={201: ItemOutput, 200: ItemOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create or update an item by its SKU."""
        data = ItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        item, created = services.item_upsert(**data.validated_data)
        return Response(ItemOutput(item).data, status=201 if created else 200)
