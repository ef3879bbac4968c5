"""`kpi.target_breached`: a daily figure missed its target, once per indicator, scope and
day. A decision point for the rules (raise an exception, create a task)."""

from mes.core.events import register_event_type

KPI_TARGET_BREACHED = register_event_type(
    "kpi.target_breached",
    subject="kpis.KpiSnapshot",
    description=(
        "A day's KPI snapshot missed its admin-set target (above it where lower is better, "
        "below it where higher is better)."
    ),
    schema={
        "indicator": "string",
        "value": "number",
        "target": "number",
        "day": "date",
        "scope": "string?",
        "direction": "string?",
    },
)
