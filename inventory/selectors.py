"""Reads of item master data that other apps use."""

from django.db.models import QuerySet

from .models import Item


def items_active() -> QuerySet[Item]:
    return Item.objects.filter(active=True).order_by("sku")


def item_by_sku(*, sku: str) -> Item | None:
    return Item.objects.filter(sku=sku).first()
