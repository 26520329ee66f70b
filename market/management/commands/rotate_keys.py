"""Re-encrypt every stored secret with the newest key in FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from market.lib.crypto import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets under the first key of FIELD_ENCRYPTION_KEYS. Put the new key "
        "first, keep the old ones after it, run this, then remove the old keys. Safe to run twice."
    )

    def handle(self, *args, **options):
        count = reencrypt_all()
        self.stdout.write(f"re-encrypted {count} row(s) with the newest key")
