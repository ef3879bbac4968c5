from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning and shop floor"

    def ready(self) -> None:
        from . import (
            events,  # noqa: F401 - registers the event types
            tasks,  # noqa: F401 - registers the reschedule event handler
        )
