"""Create an integration client from the shell; prints its key once."""

from django.core.management.base import BaseCommand, CommandError

from mes.core.errors import DomainError
from mes.core.services import API_SCOPES, api_client_create


class Command(BaseCommand):
    help = "Create an API client for an integration and print its key (shown only once)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            help=f"Repeat for each scope: {', '.join(API_SCOPES)}",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not options["scopes"]:
            raise CommandError(f"Give at least one --scope ({', '.join(API_SCOPES)}).")
        try:
            client, key = api_client_create(name=options["name"], scopes=options["scopes"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Created API client {client.name} with scopes {', '.join(client.scopes)}"
        )
        self.stdout.write("Key (store it now; it is not shown again):")
        self.stdout.write(key)
