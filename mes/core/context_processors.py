from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .navigation import nav_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "plant_name": settings.PLANT_NAME,
        "nav_items": nav_for(user, request.path) if user is not None else [],
    }
