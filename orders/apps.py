from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Order management"

    def ready(self) -> None:
        from . import events  # noqa: F401 - registers the order event types
