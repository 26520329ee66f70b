"""Issue an integrator API token from the command line; the token is printed once.

python manage.py create_api_token --organization hallym_univ --name "LMS sync"
python manage.py create_api_token --vendor k-university-ai-lab --name "CI"
python manage.py create_api_token --staff --name "ops scripts" --user admin
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import timezone

from market.models import ApiToken, User
from market.tokens import TokenError, api_token_create
from services.models import Vendor
from tenants.models import Organization


class Command(BaseCommand):
    help = "Create an API token for staff, one school or one vendor and print it (shown once)."

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--organization", metavar="TENANT_ID", help="A school's tenant id.")
        owner.add_argument("--vendor", metavar="SLUG", help="A vendor's slug.")
        owner.add_argument("--staff", action="store_true", help="A market staff token.")
        parser.add_argument("--name", required=True, help="What will use the token.")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Record this person as the creator (the token then dies with their role).",
        )
        parser.add_argument(
            "--expires-in-days", type=int, metavar="N", help="Stop working after N days."
        )

    @no_translations  # an operator's command: English messages, not half-translated ones
    def handle(self, *args, **options):
        organization = vendor = None
        if options["organization"]:
            scope = ApiToken.Scope.ORGANIZATION
            organization = self._get(Organization, slug=options["organization"])
        elif options["vendor"]:
            scope = ApiToken.Scope.VENDOR
            vendor = self._get(Vendor, slug=options["vendor"])
        else:
            scope = ApiToken.Scope.STAFF
        user = self._get(User, username=options["user"]) if options["user"] else None
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        try:
            token, plaintext = api_token_create(
                name=options["name"],
                scope=scope,
                organization=organization,
                vendor=vendor,
                created_by=user,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except TokenError as error:
            raise CommandError(error.message) from None
        self.stderr.write(
            f"Created {token.get_scope_display().lower()} token {token.prefix}… (id {token.pk}). "
            "Store it now: it is not shown again."
        )
        self.stdout.write(plaintext)

    @staticmethod
    def _get(model, **lookup):
        try:
            return model.objects.get(**lookup)
        except model.DoesNotExist:
            ((name, value),) = lookup.items()
            raise CommandError(f"No {model._meta.verbose_name} with {name} {value!r}.") from None
