"""KPI endpoints for BI tools: the registry, one indicator for a period and filters, and
its daily snapshots. Thin: parse, call a selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..indicators import INDICATORS
from . import serializers as s

SCOPES = {"read_scope": "kpis:read"}
PROBLEM = OpenApiResponse(description="Problem details (application/problem+json)")
PERIOD = [
    OpenApiParameter("from", str, description="First day (YYYY-MM-DD); default 30 days back."),
    OpenApiParameter("to", str, description="Last day, included (YYYY-MM-DD); default today."),
]
FILTER_PARAMS = [
    OpenApiParameter("work_center", str, description="Work center code (where supported)."),
    OpenApiParameter("item", str, description="Item SKU (where supported)."),
    OpenApiParameter("customer", str, description="Customer code (where supported)."),
]


class IndicatorListView(APIView):
    """Every indicator: how it is computed, its unit, which way is better, its filters."""

    read_scope = SCOPES["read_scope"]

    @extend_schema(responses=s.IndicatorOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.IndicatorOutput(list(INDICATORS.values()), many=True).data)


class IndicatorValueView(APIView):
    """One indicator for a period and filters, with its breakdowns."""

    read_scope = SCOPES["read_scope"]

    @extend_schema(
        parameters=PERIOD + FILTER_PARAMS,
        responses={200: s.IndicatorValueOutput, 400: PROBLEM, 404: PROBLEM},
    )
    def get(self, request: Request, key: str) -> Response:
        period = selectors.period_parse(
            request.query_params.get("from"), request.query_params.get("to")
        )
        result = selectors.indicator_evaluate(
            key=key, period=period, filters=request.query_params.dict()
        )
        target = selectors.result_target(result)
        data = {
            "key": result.indicator.key,
            "name": result.indicator.name,
            "unit": result.indicator.unit,
            "direction": result.indicator.direction,
            "period": result.period,
            "filters": result.filters,
            "value": result.value,
            "count": result.count,
            "median": result.stats.get("median"),
            "target": target,
            "breakdown": result.breakdown,
        }
        return Response(s.IndicatorValueOutput(data).data)


class IndicatorSnapshotsView(generics.GenericAPIView):
    """The indicator's daily figures (plant-wide, or one work center's)."""

    read_scope = SCOPES["read_scope"]
    serializer_class = s.SnapshotOutput
    filter_backends: list = []

    @extend_schema(
        parameters=[
            *PERIOD,
            OpenApiParameter("work_center", str, description="A work center's own figures."),
            OpenApiParameter(
                "scope",
                str,
                description="Another breakdown's figures: reason, type, owner_role, customer.",
            ),
            OpenApiParameter("value", str, description="The part of that breakdown."),
        ],
        responses={200: s.SnapshotOutput(many=True), 400: PROBLEM, 404: PROBLEM},
    )
    def get(self, request: Request, key: str) -> Response:
        period = selectors.period_parse(
            request.query_params.get("from"), request.query_params.get("to")
        )
        rows = selectors.snapshots_list(
            key=key,
            period=period,
            work_center=request.query_params.get("work_center"),
            scope=request.query_params.get("scope", ""),
            value=request.query_params.get("value", ""),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.SnapshotOutput(page, many=True).data)
