from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exceptions and decision rules"

    def ready(self) -> None:
        from . import engine, events, subjects, webhooks  # noqa: F401 - register types and handlers
