from django.contrib import admin

from .models import Item


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "source", "lead_time_days", "active"]
    list_filter = ["source", "active"]
    search_fields = ["sku", "name"]
