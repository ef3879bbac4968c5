from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exceptions and decision rules"

    def ready(self) -> None:
        # Edits made in this process show at once; other processes see them within
        # RULES_CACHE_SECONDS (exceptions/caching.py).
        from django.contrib.auth.models import User
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from . import engine, events, subjects, webhooks  # noqa: F401 - register types and handlers
        from .caching import clear_all
        from .models import DecisionRule, WebhookSubscription

        def _clear(**kwargs: object) -> None:
            clear_all()

        for model in (DecisionRule, WebhookSubscription):
            post_save.connect(_clear, sender=model, dispatch_uid=f"cache-save-{model.__name__}")
            post_delete.connect(_clear, sender=model, dispatch_uid=f"cache-del-{model.__name__}")
        m2m_changed.connect(_clear, sender=User.groups.through, dispatch_uid="cache-roles")
