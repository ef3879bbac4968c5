from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "mes.core"
    label = "core"
    verbose_name = "MES core"

    def ready(self) -> None:
        from . import reason_codes, roles

        # Roles exist from a data migration; their permissions are synced after every
        # migrate, so a permission added by a later app reaches its role at once.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="mes.core.roles")
        post_migrate.connect(
            reason_codes.ensure_default_reason_codes, dispatch_uid="mes.core.reason_codes"
        )
