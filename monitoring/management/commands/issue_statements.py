"""Issue a closed month's statements now: `manage.py issue_statements 2026-11`.

Idempotent: schools that already have the month's statement keep it, so a second run issues
nothing new. The current month is refused (it is not over); see `monitoring.billing`.
"""

from django.core.management.base import BaseCommand, CommandError

from market.lib.months import month_parse
from monitoring.billing import BillingError, statements_issue_month


class Command(BaseCommand):
    help = "Issue the statements of a closed month (YYYY-MM) that are not issued yet."

    def add_arguments(self, parser):
        parser.add_argument("month", help="the month to issue, as YYYY-MM (e.g. 2026-11)")

    def handle(self, *args, month, **options):
        try:
            parsed = month_parse(month)
        except ValueError:
            raise CommandError(
                f"Give the month as YYYY-MM (e.g. 2026-11), not {month!r}."
            ) from None
        try:
            issued = statements_issue_month(month=parsed)
        except BillingError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{issued} statement(s) issued for {parsed:%Y-%m}.")
