from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    verbose_name = "Shipping"

    def ready(self) -> None:
        from . import events, subjects  # noqa: F401 - register event types and rule subjects
