"""Errors as `application/problem+json` (RFC 9457), with field errors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mes.core.errors import DomainError, IllegalTransition

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    *,
    status_code: int,
    title: str,
    detail: str,
    code: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:mes:problem:{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(body, status=status_code, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"lines[0].quantity": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or (prefix and str(key).isdigit()):
                # A list serializer's errors come keyed by the index of the bad item.
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                # A nested object's or list's own error belongs to the field itself.
                name = prefix or "non_field_errors"
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                out.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _passthrough_headers(response: Response) -> dict[str, str]:
    return {
        k: v
        for k, v in response.items()
        if k.lower() in {"www-authenticate", "allow", "retry-after"}
    }


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, IllegalTransition):
        return problem_response(
            status_code=exc.status,
            title=exc.title,
            detail=exc.message,
            code=exc.code,
            current_state=exc.current_state,
            allowed_transitions=exc.allowed,
            transition=exc.transition,
        )
    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status,
            title=exc.title,
            detail=exc.message,
            code=exc.code,
            errors=exc.errors or None,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            status_code=status.HTTP_400_BAD_REQUEST,
            title=_("Invalid input"),
            detail=_("The request has invalid fields."),
            code="validation_failed",
            errors=_flatten(exc.detail),
            headers=_passthrough_headers(response),
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict | list):
        errors = _flatten(detail)
        message = "; ".join(m for msgs in errors.values() for m in msgs)
    else:
        errors, message = None, str(detail)
    titles = {
        401: _("Authentication required"),
        403: _("Not permitted"),
        404: _("Not found"),
        405: _("Method not allowed"),
        406: _("Not acceptable"),
        415: _("Unsupported media type"),
        429: _("Too many requests"),
    }
    return problem_response(
        status_code=response.status_code,
        title=titles.get(response.status_code, _("Error")),
        detail=message,
        code=str(code),
        errors=errors,
        headers=_passthrough_headers(response),
    )
