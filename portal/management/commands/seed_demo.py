"""Load the demo: staff, a vendor with the reference service registered from its manifest,
two schools with admins. Safe to run again: what exists is left as it is."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from market.lib.env import env_str
from market.models import MarketPolicy, User
from services.models import Service, Vendor
from services.services import (
    IssuedCredentials,
    RegistrationError,
    service_approve,
    service_register,
)
from tenants.models import Organization

DEMO_PASSWORD = "market-demo-2026"
REFERENCE_MANIFEST = Path(settings.BASE_DIR) / "vendorkit" / "reference_manifest.yaml"
SCHOOLS = [
    ("한림대학교", "hallym_univ", "hallym-admin", "admin@hallym.ac.kr", "ko"),
    ("Korea Digital University", "kdu_univ", "kdu-admin", "admin@kdu.ac.kr", "en"),
]


def _reference_credentials() -> IssuedCredentials:
    """The development credentials the reference vendor starts with (see the Procfile)."""
    from vendorkit.reference_vendor import DEFAULT_API_KEY, DEFAULT_SIGNING_SECRET

    return IssuedCredentials(
        api_key=env_str("REFERENCE_VENDOR_API_KEY", DEFAULT_API_KEY),
        signing_secret=env_str("REFERENCE_VENDOR_SIGNING_SECRET", DEFAULT_SIGNING_SECRET),
    )


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo accounts."

    def handle(self, *args, **options):
        MarketPolicy.load()
        staff = self._user("admin", "admin@market.local", is_staff=True, is_superuser=True)
        vendor, _created = Vendor.objects.get_or_create(
            slug="service-market-reference",
            defaults={"name": "Service Market Reference", "contact_email": "vendor@market.local"},
        )
        self._user("vendor", "vendor@market.local", vendor=vendor)
        for name, slug, username, email, language in SCHOOLS:
            school, _created = Organization.objects.get_or_create(
                slug=slug, defaults={"name": name, "contact_email": email}
            )
            self._user(username, email, organization=school, preferred_language=language)
        self._register_reference_service(vendor)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data is ready. Accounts (password for all: {DEMO_PASSWORD}):")
        )
        self.stdout.write(f"  market staff   {staff.username:<14} http://127.0.0.1:8000/admin/")
        self.stdout.write("  vendor user    vendor         http://127.0.0.1:8000/vendor/")
        for _name, _slug, username, _email, _language in SCHOOLS:
            self.stdout.write(f"  school admin   {username:<14} http://127.0.0.1:8000/school/")

    def _user(self, username: str, email: str, **fields) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            with transaction.atomic():
                user = User(username=username, email=email, **fields)
                user.set_password(DEMO_PASSWORD)
                user.save()
        return user

    def _register_reference_service(self, vendor: Vendor) -> None:
        if Service.objects.filter(service_id="reference_tutor").exists():
            return
        server = None
        try:
            # Registration calls the service's health endpoint, so the reference vendor must be
            # up; `make run` starts it only afterwards, so start it here for a moment.
            from vendorkit.reference_vendor import serve_in_thread

            credentials = _reference_credentials()
            server, _url = serve_in_thread(
                port=9001,
                api_keys=[credentials.api_key],
                signing_secrets=[credentials.signing_secret],
                db_path=str(Path(settings.VAR_DIR) / "reference_vendor.sqlite3"),
            )
        except OSError:
            pass  # port 9001 is taken: the reference vendor is already running
        try:
            service, _issued = service_register(
                vendor=vendor,
                raw_text=REFERENCE_MANIFEST.read_text(),
                credentials=_reference_credentials(),
            )
        except RegistrationError as error:
            details = "; ".join(e.format() for e in error.errors)
            raise CommandError(
                f"Could not register the reference service: {error.message} {details}"
            ) from None
        finally:
            if server is not None:
                server.stop()
        # A new service waits for its listing checklist (docs/standard/listing.md); the demo
        # plays the staff member who approves it by hand, so schools see it at once.
        service = service_approve(service=service)
        self.stdout.write(
            f"Registered {service.service_id} from {REFERENCE_MANIFEST.name} (listed)."
        )
