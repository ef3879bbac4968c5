"""Items: the minimal master data orders need; the inventory issue extends it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Item(models.Model):
    class Source(models.TextChoices):
        MAKE = "make", _("Make")
        BUY = "buy", _("Buy")

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=16, default="pcs")
    source = models.CharField(_("make / buy"), max_length=4, choices=Source, default=Source.MAKE)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("item")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
