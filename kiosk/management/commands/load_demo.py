"""``manage.py load_demo``: the demo venue, FAQs, avatar, voices, kiosk and users."""
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from kiosk.demo import DEMO_USERS, demo_load


class Command(BaseCommand):
    help = ("Load the demo content. Passwords come from KIOSK_<USER>_PASSWORD (e.g. KIOSK_STAFF_PASSWORD) "
            "or are generated and printed once.")

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = {
            username: os.environ[f"KIOSK_{username.upper()}_PASSWORD"]
            for username, _role in DEMO_USERS
            if os.environ.get(f"KIOSK_{username.upper()}_PASSWORD")
        }
        try:
            result = demo_load(passwords=passwords)
        except ApplicationError as exc:
            raise CommandError(f"[{exc.code}] {exc.message} {exc.extra.get('errors', '')}") from exc
        faqs = result.faqs
        self.stdout.write(f"FAQs: {faqs.created} created, {faqs.updated} updated, {faqs.unchanged} unchanged "
                          f"({faqs.translations} translations)")
        self.stdout.write(f"Pair a browser with the demo kiosk: /pair/?code={result.pairing_code} (valid 24 hours)")
        for username, password in result.new_passwords.items():
            self.stdout.write(self.style.WARNING(f"New console user {username!r}, password: {password}  "
                                                 "(shown once; change it in the console)"))
