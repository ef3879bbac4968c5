from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from mes.core.roles import FLOOR_LEAD, PLANNER
from mes.core.services import api_client_create

from .factories import user_with_role


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked `postgres` need Postgres row locks; elsewhere they are skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI always runs it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def planner(db: Any) -> Any:
    return user_with_role(PLANNER, username="planner1")


@pytest.fixture
def planner2(db: Any) -> Any:
    return user_with_role(PLANNER, username="planner2")


@pytest.fixture
def floor_lead(db: Any) -> Any:
    return user_with_role(FLOOR_LEAD, username="floorlead1")


@pytest.fixture
def make_api_client(db: Any):  # type: ignore[no-untyped-def]
    """make_api_client(scopes) -> DRF APIClient sending that client's Bearer key."""

    def make(scopes: list[str], name: str | None = None) -> APIClient:
        client, key = api_client_create(
            name=name or f"ERP {len(scopes)}-{id(scopes)}", scopes=scopes
        )
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        api.api_client = client  # type: ignore[attr-defined]
        api.key = key  # type: ignore[attr-defined]
        return api

    return make


@pytest.fixture
def erp(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(
        ["orders:read", "orders:write", "masterdata:read", "masterdata:write", "events:read"],
        name="ERP",
    )


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class Receiver:
    """A local HTTP receiver for webhooks: records each POST, answers with `status`."""

    url: str
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": self.headers, "body": body})
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/erp"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
