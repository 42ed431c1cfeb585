"""``manage.py kiosk_pairing_code NAME``: a fresh one-time pairing code for a kiosk."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kiosk.models import Kiosk
from kiosk.pairing import kiosk_pairing_code_create


class Command(BaseCommand):
    help = "Print a new one-time pairing code (valid 15 minutes) for the kiosk with this name or id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kiosk", help="Kiosk name or id")

    def handle(self, *args: Any, **options: Any) -> None:
        ref = options["kiosk"]
        kiosk = Kiosk.objects.filter(pk=int(ref)).first() if ref.isdigit() else Kiosk.objects.filter(name=ref).first()
        if kiosk is None:
            raise CommandError(f"No kiosk {ref!r}.")
        self.stdout.write(kiosk_pairing_code_create(kiosk=kiosk))
