"""Helpers for the generators that write large generated plants in bulk."""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction


def foreign_key_checks_skip() -> bool:
    """Skip the per-row foreign key checks for this transaction, as a restore does: every
    row written points at a row this transaction created or read, and a million rows
    would otherwise queue millions of deferred checks for the commit. Needs a role that
    may set session_replication_role (a superuser); otherwise the checks run. Returns
    whether they are skipped."""
    if connection.vendor != "postgresql":
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True
