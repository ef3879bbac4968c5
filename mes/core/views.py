"""Cross-cutting pages: login, role homes, plant board, events, health and error pages."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import ListView, TemplateView

from . import selectors
from .roles import ROLE_HOMES, role_names

logger = logging.getLogger(__name__)


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to login; signed-in users without the permission get a 403."""

    def handle_no_permission(self) -> HttpResponse:
        if self.request.user.is_authenticated:
            self.raise_exception = True
        return super().handle_no_permission()


def home_url_for(user: Any) -> str:
    if user.is_superuser:
        return reverse("admin:index")
    roles = role_names(user)
    for role, url_name in ROLE_HOMES:
        if role in roles:
            return reverse(url_name)
    return reverse("core:board")


class MesLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url_for(self.request.user)


class MesLogoutView(LogoutView):
    pass


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(home_url_for(request.user))


class BoardView(RoleRequiredMixin, TemplateView):
    """One board every function reads: order book by state, what is due, what waits."""

    permission_required = "orders.view_salesorder"
    template_name = "core/board.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from orders import selectors as order_selectors

        context = super().get_context_data(**kwargs)
        context["state_counts"] = order_selectors.order_counts_by_state()
        context["due_soon"] = order_selectors.order_lines_due_soon(days=7)
        context["pending_changes"] = order_selectors.change_requests_pending()[:20]
        context["recent_events"] = selectors.events_recent(limit=15)
        return context

    def get_template_names(self) -> list[str]:
        if self.request.htmx:
            return ["core/_board_content.html"]
        return [self.template_name]


class EventListView(RoleRequiredMixin, ListView):
    permission_required = "core.view_event"
    template_name = "core/events.html"
    paginate_by = 50
    context_object_name = "events"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.events_list(
            type_prefix=self.request.GET.get("type", "").strip(),
            status=self.request.GET.get("status", "").strip(),
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["filter_type"] = self.request.GET.get("type", "")
        context["filter_status"] = self.request.GET.get("status", "")
        context["backlog"] = selectors.events_backlog()
        return context


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up; touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """The database and the broker are reachable; 503 names what is down."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"down: {exc.__class__.__name__}"
    checks["broker"] = selectors.broker_status()
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)


def _error_page(request: HttpRequest, status: int, title: Any, message: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"type": "about:blank", "title": str(title), "status": status, "detail": str(message)},
            status=status,
            content_type="application/problem+json",
        )
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(
        request, 403, _("Not permitted"), _("Your role does not allow this page or action.")
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 404, _("Not found"), _("There is no such page or record."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error_page(
        request,
        500,
        _("Something went wrong"),
        _("The error was logged. Nothing you entered was half-saved: try again."),
    )
