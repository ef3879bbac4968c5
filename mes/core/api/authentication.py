"""`Authorization: Bearer <key>` per integration client; keys are stored hashed."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from mes.core.models import ApiClient
from mes.core.services import api_key_hash


def _load_cached_permissions(user: Any) -> None:
    """Give an integration user the permission set its role had a moment ago.

    Every ERP request checks permissions; reading them costs two queries. They are kept
    for API_PERMISSION_CACHE_SECONDS per process, so a role change reaches API clients
    within that time (revoking a key takes effect at once: it is checked above).
    """
    seconds = settings.API_PERMISSION_CACHE_SECONDS
    if seconds <= 0 or user.is_superuser:
        return
    key = f"mes:api-permissions:{user.pk}"
    permissions = cache.get(key)
    if permissions is None:
        permissions = ModelBackend().get_all_permissions(user)
        cache.set(key, permissions, seconds)
    user._perm_cache = set(permissions)  # noqa: SLF001 - ModelBackend's own cache attribute


class ApiClientAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        # The scheme name is case-insensitive (RFC 9110 section 11.1).
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(_("Use 'Authorization: Bearer <key>'."))
        key = parts[1]
        pieces = key.split("_", 2)
        if len(pieces) != 3 or pieces[0] != "mes":
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        client = ApiClient.objects.select_related("user").filter(key_prefix=pieces[1]).first()
        if client is None or not hmac.compare_digest(client.key_hash, api_key_hash(key)):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if client.revoked_at is not None or not client.user.is_active:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        _load_cached_permissions(client.user)
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > dt.timedelta(minutes=5):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client.user, client

    def authenticate_header(self, request):  # type: ignore[no-untyped-def]
        return f'{self.keyword} realm="api"'


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiClientAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration client's key: `Authorization: Bearer mes_...`",
        }
