"""Cross-cutting pages: login, role homes, plant board, events, health and error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import ListView, TemplateView
from django_htmx.http import HttpResponseClientRedirect

from . import selectors
from .roles import ROLE_HOMES, role_names

logger = logging.getLogger(__name__)


def _login_redirect(request: HttpRequest) -> HttpResponse:
    """Send an anonymous user to login and back. An HTMX request (a board polling after
    the session ended) is told to load the login page as a whole page, not to swap it
    into a fragment."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        back = htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    return redirect_to_login(request.get_full_path())


def is_partial(request: HttpRequest) -> bool:
    """An HTMX request for a fragment (not a history restore, which wants the page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_maybe_partial(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """The whole page, or only its fragment for HTMX; caches keep them apart."""
    response = render(request, partial if is_partial(request) else full, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def safe_next_url(request: HttpRequest, default: str) -> str:
    """The posted `next` page when it is on this site, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to login; signed-in users without the permission get a 403."""

    def handle_no_permission(self) -> HttpResponse:
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return _login_redirect(self.request)


ViewFunction = Callable[..., HttpResponse]


def role_required(*perms: str) -> Callable[[ViewFunction], ViewFunction]:
    """RoleRequiredMixin for function views: login first, then every permission in `perms`."""

    def decorate(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return _login_redirect(request)
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def any_permission_required(*perms: str) -> Callable[[ViewFunction], ViewFunction]:
    """Like role_required, but one of `perms` is enough (a page several roles share)."""

    def decorate(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return _login_redirect(request)
            if not any(request.user.has_perm(perm) for perm in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class PartialTemplateMixin:
    """Full page for a normal request; only the partial for an HTMX request.

    A history-restore request (the user pressed Back and htmx has no cached copy) gets
    the full page, and responses vary on HX-Request so caches never mix the two.
    """

    partial_template_name: str = ""

    def get_template_names(self) -> list[str]:
        if is_partial(self.request):  # type: ignore[attr-defined]
            return [self.partial_template_name]
        return super().get_template_names()  # type: ignore[misc]

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)  # type: ignore[misc]
        patch_vary_headers(response, ["HX-Request"])
        return response


def home_url_for(user: Any) -> str:
    if user.is_superuser:
        return reverse("admin:index")
    roles = role_names(user)
    for role, url_name in ROLE_HOMES:
        if role in roles:
            if url_name.startswith("admin:") and not user.is_staff:
                continue  # admin would only send them back to a login page
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


class BoardView(RoleRequiredMixin, PartialTemplateMixin, TemplateView):
    """One board every function reads: order book by state, what is due, what waits.

    The page polls itself every 5 s through HTMX and swaps in `core/_board_content.html`.
    """

    permission_required = "orders.view_salesorder"
    template_name = "core/board.html"
    partial_template_name = "core/_board_content.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from orders import selectors as order_selectors

        context = super().get_context_data(**kwargs)
        context["state_counts"] = order_selectors.order_counts_by_state()
        context["due_soon"] = order_selectors.order_lines_due_soon(days=7)
        context["pending_changes"] = order_selectors.change_requests_pending()[:20]
        context["recent_events"] = selectors.events_recent(limit=15)
        return context


class EventListView(RoleRequiredMixin, PartialTemplateMixin, ListView):
    permission_required = "core.view_event"
    template_name = "core/events.html"
    partial_template_name = "core/_events_table.html"
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
        context["status_choices"] = [
            ("", _("Any status")),
            ("pending", _("Pending")),
            ("processed", _("Processed")),
            ("failed", _("Failing")),
        ]
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
    """Rendered without the request context: its processors (user, permissions,
    navigation) read the database, which may be the very thing that failed."""
    title = _("Something went wrong")
    message = _("The error was logged. Nothing you entered was half-saved: try again.")
    if request.path.startswith("/api/"):
        return _error_page(request, 500, title, message)
    body = loader.get_template("error.html").render(
        {"status": 500, "title": title, "message": message, "plant_name": settings.PLANT_NAME}
    )
    return HttpResponseServerError(body)
