"""Targets per indicator (admin-edited) and daily snapshots, so trends over months read a
few rows per day instead of the history."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

SCOPES = [("", _("Whole plant")), ("work_center", _("Work center"))]


class KpiTarget(models.Model):
    """The figure an indicator should stay on the right side of, plant-wide or for one
    work center."""

    indicator = models.CharField(_("indicator"), max_length=60)
    scope_key = models.CharField(_("scope"), max_length=20, blank=True, choices=SCOPES)
    scope_value = models.CharField(
        _("scope value"), max_length=60, blank=True, help_text=_("e.g. the work center code.")
    )
    target = models.DecimalField(_("target"), max_digits=14, decimal_places=4)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["indicator", "scope_key", "scope_value"]
        verbose_name = _("KPI target")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "scope_key", "scope_value"], name="kpi_target_once"
            )
        ]

    def __str__(self) -> str:
        scope = f" [{self.scope_value}]" if self.scope_key else ""
        return f"{self.indicator}{scope}: {self.target}"

    def clean(self) -> None:
        from .indicators import INDICATORS

        indicator = INDICATORS.get(self.indicator)
        if indicator is None:
            raise ValidationError({"indicator": _("Choose one of the defined indicators.")})
        if bool(self.scope_key) != bool(self.scope_value):
            raise ValidationError(
                {"scope_value": _("Give a scope and its value together, or neither.")}
            )
        if self.scope_key and self.scope_key not in indicator.breakdowns:
            raise ValidationError(
                {
                    "scope_key": _("This indicator has no figure per %(scope)s.")
                    % {"scope": self.scope_key}
                }
            )


class KpiSnapshot(models.Model):
    """One indicator's figure for one plant-local day, plant-wide (empty scope) or per
    part of a breakdown (a work center, a scrap reason, an exception type...). Rewritten,
    not added, when the day is computed again."""

    indicator = models.CharField(max_length=60)
    day = models.DateField()
    scope_key = models.CharField(max_length=20, blank=True)
    scope_value = models.CharField(max_length=60, blank=True)
    value = models.FloatField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0)
    # The additive parts of the value (e.g. total seconds and records for a mean), so the
    # days of any longer period add up to its figure without reading the history again.
    numerator = models.FloatField(default=0)
    denominator = models.FloatField(default=0)
    computed_at = models.DateTimeField()
    # Set when `kpi.target_breached` was emitted for this row: once per day and scope.
    breach_reported_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["indicator", "day", "scope_key", "scope_value"]
        verbose_name = _("KPI snapshot")
        permissions = [("view_kpi_dashboards", "Can view KPI dashboards and their records")]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "day", "scope_key", "scope_value"], name="kpi_snapshot_once"
            )
        ]
        indexes = [models.Index(fields=["day", "indicator"], name="kpi_snapshot_day_idx")]

    def __str__(self) -> str:
        scope = f" [{self.scope_value}]" if self.scope_key else ""
        return f"{self.indicator}{scope} {self.day}: {self.value}"
