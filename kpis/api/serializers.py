"""Output serializers of the KPI API: declared field by field."""

from __future__ import annotations

from rest_framework import serializers


class IndicatorOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    group = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.ChoiceField(choices=["lower", "higher"], help_text="Which is better.")
    description = serializers.CharField(help_text="Exactly how the figure is computed.")
    filters = serializers.ListField(child=serializers.CharField(), source="supported_filters")
    breakdowns = serializers.SerializerMethodField()

    def get_breakdowns(self, indicator) -> list[str]:  # type: ignore[no-untyped-def]
        return list(indicator.breakdowns)


class BreakdownRowOutput(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    numerator = serializers.FloatField(
        help_text="Additive part: sum it with denominator over days to get a longer period."
    )
    denominator = serializers.FloatField()


class IndicatorValueOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.CharField()
    period_from = serializers.DateField(source="period.start")
    period_to = serializers.DateField(source="period.end")
    filters = serializers.DictField(child=serializers.CharField())
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="How many records the figure is made of.")
    median = serializers.FloatField(allow_null=True, required=False)
    target = serializers.FloatField(allow_null=True)
    breakdown = serializers.DictField(
        child=BreakdownRowOutput(many=True), help_text="Dimension -> rows, most records first."
    )


class SnapshotOutput(serializers.Serializer):
    indicator = serializers.CharField()
    day = serializers.DateField()
    scope_key = serializers.CharField()
    scope_value = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    numerator = serializers.FloatField(
        help_text="Additive part: sum it with denominator over days to get a longer period."
    )
    denominator = serializers.FloatField()
