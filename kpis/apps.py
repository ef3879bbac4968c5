from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs"

    def ready(self) -> None:
        from . import events, indicators  # noqa: F401 - register the event type and indicators
