"""Writes for vendors and services: registration, manifest updates, credentials, plans."""

import difflib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from events.services import event_record
from market.errors import DomainError
from market.lib.outbound.guard import BlockedAddress, check_url
from market.lib.text import strip_bidi_controls
from market.models import MarketPolicy, User
from services.listing import service_list_if_ready
from services.models import Manifest, Plan, Service, ServiceCredential, Vendor
from services.selectors import plans_in_live_use
from services.standard.manifest import (
    ManifestError,
    lti_urls,
    plans_from_manifest,
    validate_manifest_text,
)
from services.vendor_client.client import VendorClient
from services.vendor_targets import target_from_manifest
from vendorkit.signing import new_secret as new_signing_secret

HEALTHY_ENOUGH_TO_REGISTER = ("healthy", "degraded")


class RegistrationError(DomainError):
    """A manifest or its service cannot be registered; `errors` says where and why.

    With manifest errors the API answers `manifest-invalid`, one item per error (with its
    Korean message and line); without, `registration-refused` with the message.
    """

    def __init__(self, message: str, errors: tuple[ManifestError, ...] = ()):
        super().__init__(message)
        self.errors = errors

    @property
    def slug(self) -> str:
        return "manifest-invalid" if self.errors else "registration-refused"

    @property
    def title(self) -> str:
        return _("The manifest is not valid") if self.errors else _("The manifest was refused")

    def problem_detail(self) -> str:
        if self.errors:
            return _("The manifest has %(n)s error(s): see errors.") % {"n": len(self.errors)}
        return self.message

    def problem_errors(self) -> list[dict]:
        if self.errors:
            return manifest_error_items(self.errors)
        return super().problem_errors()


def manifest_error_items(errors) -> list[dict]:
    """Manifest errors as problem `errors` items: pointer, message, Korean message, line."""
    return [
        {
            "field": e.pointer or None,
            "message": e.message,
            "message_ko": e.message_ko,
            "line": e.line,
        }
        for e in errors
    ]


@dataclass(frozen=True)
class IssuedCredentials:
    """Credentials in plain text: shown to the vendor once, then only their ciphertext is kept."""

    api_key: str
    signing_secret: str


def vendor_signup(*, name: str, contact_email: str, username: str, password: str) -> User:
    """Create a vendor and its first user in one step."""
    with transaction.atomic():
        base = slugify(name)[:50] or "vendor"
        slug, n = base, 1
        while Vendor.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        vendor = Vendor.objects.create(
            name=strip_bidi_controls(name), slug=slug, contact_email=contact_email
        )
        user = User(username=username, email=contact_email, vendor=vendor)
        user.set_password(password)
        user.save()
    return user


def _record_manifest(*, vendor, service, raw_text, result, submitted_by) -> Manifest:
    number = 1
    if service is not None:
        last = service.manifests.order_by("-number").values_list("number", flat=True).first()
        number = (last or 0) + 1
    return Manifest.objects.create(
        vendor=vendor,
        service=service,
        number=number,
        raw_text=raw_text,
        data=result.data if result.is_valid else None,
        is_valid=result.is_valid,
        errors=[error.as_dict() for error in result.errors],
        submitted_by=submitted_by,
    )


def _validated(raw_text: str, *, vendor: Vendor, service: Service | None, submitted_by):
    """The validation result, or RegistrationError after keeping the refused text.

    `service` is the service being updated (None for a registration): a refused update is
    numbered in that service's history, so the vendor finds the attempt there.
    """
    result = validate_manifest_text(raw_text)
    if not result.is_valid:
        # Every submission is kept, valid or not, so a vendor can see what it sent.
        _record_manifest(
            vendor=vendor,
            service=service,
            raw_text=raw_text,
            result=result,
            submitted_by=submitted_by,
        )
        raise RegistrationError(_("The manifest has errors."), result.errors)
    return result


def service_verify_reachable(*, service_id: str, manifest: dict) -> dict:
    """Refuse private addresses (base URL, OAuth token URL, LTI URLs), then call GET health.

    Returns the health body or raises RegistrationError.
    """
    base_url = manifest["endpoints"]["base_url"]
    token_url = (manifest.get("auth") or {}).get("token_url")
    lti = [url for _path, url in lti_urls(manifest)]
    try:
        for url in filter(None, (base_url, token_url, *lti)):
            check_url(url)
    except BlockedAddress as error:
        raise RegistrationError(str(error)) from None
    client = VendorClient(target_from_manifest(service_id=service_id, manifest=manifest))
    try:
        response = client.health()
    finally:
        client.close()
    if not response.ok:
        raise RegistrationError(
            _("The health check at %(url)s failed: %(error)s")
            % {"url": base_url, "error": response.error or response.status_code}
        )
    status = response.body.get("status")
    if status not in HEALTHY_ENOUGH_TO_REGISTER:
        raise RegistrationError(
            _("The service reports itself %(status)s; it must be healthy or degraded to register.")
            % {"status": status}
        )
    return response.body


def _declares_price(data: dict, code: str) -> bool:
    plans = data.get("plans") if isinstance(data.get("plans"), dict) else {}
    return isinstance(plans.get(code), dict) and "price" in plans[code]


def _sync_plans(service: Service, data: dict) -> None:
    """Plans as the manifest declares them. A price the manifest leaves out is not 0 KRW: the
    plan stays unpriced (a listing blocker) or keeps the price staff set."""
    specs = plans_from_manifest(data)
    codes = {spec.code for spec in specs}
    for spec in specs:
        price: dict = {}
        if _declares_price(data, spec.code):
            price = {"price": spec.price, "price_set": True}
        elif not Plan.objects.filter(service=service, code=spec.code, price_set=True).exists():
            price = {"price": 0, "price_set": False}
        Plan.objects.update_or_create(
            service=service,
            code=spec.code,
            defaults={
                "name": spec.name,
                "features": list(spec.features),
                **price,
                "currency": spec.currency,
                "billing_period": spec.billing_period,
                "max_users": spec.max_users,
                "storage_limit_gb": spec.storage_limit_gb,
                "allowed_changes": list(spec.allowed_changes),
                "unit_prices": {metric: str(price) for metric, price in spec.unit_prices.items()},
                "overage_prices": {
                    metric: str(price) for metric, price in spec.overage_prices.items()
                },
                "position": spec.position,
                "is_active": True,
            },
        )
    service.plans.exclude(code__in=codes).update(is_active=False)


def _new_credentials() -> IssuedCredentials:
    return IssuedCredentials(
        api_key="mk_" + secrets.token_urlsafe(32),
        signing_secret=new_signing_secret(),  # whsec_<base64 of 32 bytes> (signing.md)
    )


def service_register(
    *,
    vendor: Vendor,
    raw_text: str,
    submitted_by: User | None = None,
    credentials: IssuedCredentials | None = None,
) -> tuple[Service, IssuedCredentials]:
    """Validate a first manifest, verify the service answers, and register it.

    `credentials` is for pre-shared development credentials (the demo's reference vendor);
    otherwise fresh random ones are issued and returned once.
    """
    result = _validated(raw_text, vendor=vendor, service=None, submitted_by=submitted_by)
    data = result.data
    service_id = data["service"]["id"]
    existing = Service.objects.filter(service_id=service_id).first()
    if existing is not None:
        if existing.vendor_id == vendor.pk:
            raise RegistrationError(
                _(
                    "You already registered %(id)s: submit a new manifest version on its page instead."
                )
                % {"id": service_id}
            )
        raise RegistrationError(
            _("The service id %(id)s is taken: choose another service.id.") % {"id": service_id}
        )
    service_verify_reachable(service_id=service_id, manifest=data)

    issued = credentials or _new_credentials()
    with transaction.atomic():
        service = Service.objects.create(
            vendor=vendor,
            service_id=service_id,
            name=data["service"]["name"],
            description=data["service"].get("description", ""),
            base_url=data["endpoints"]["base_url"],
            status=Service.Status.PENDING_REVIEW,  # listed once its checklist is clear
        )
        manifest = _record_manifest(
            vendor=vendor,
            service=service,
            raw_text=raw_text,
            result=result,
            submitted_by=submitted_by,
        )
        service.current_manifest = manifest
        service.save(update_fields=["current_manifest", "updated_at"])
        _sync_plans(service, data)
        ServiceCredential.objects.create(
            service=service, api_key=issued.api_key, signing_secret=issued.signing_secret
        )
        event_record(type="service.registered", actor=submitted_by, service=service)
    service_list_if_ready(service=service)  # listed at once only when nothing is required
    service.refresh_from_db()
    return service, issued


def _features_in_use(service: Service) -> dict[str, set[str]]:
    """Plan code → the features of that plan, for plans live subscriptions are on."""
    return {plan.code: set(plan.features) for plan in plans_in_live_use(service=service)}


def manifest_conflicts_with_live_subscriptions(service: Service, data: dict) -> list[str]:
    """Messages naming each plan or feature a new manifest removes while subscriptions use it."""
    new_plans = {spec.code: set(spec.features) for spec in plans_from_manifest(data)}
    problems = []
    for code, features in _features_in_use(service).items():
        if code not in new_plans:
            problems.append(
                _("Plan %(plan)s is removed but live subscriptions use it.") % {"plan": code}
            )
            continue
        for feature in sorted(features - new_plans[code]):
            problems.append(
                _(
                    "Feature %(feature)s is removed from plan %(plan)s but live subscriptions use it."
                )
                % {"feature": feature, "plan": code}
            )
    return problems


def manifest_update(
    *, service: Service, raw_text: str, submitted_by: User | None = None
) -> Manifest:
    """Accept a new manifest version: validated, re-verified, applied to new subscriptions."""
    result = _validated(raw_text, vendor=service.vendor, service=service, submitted_by=submitted_by)
    data = result.data
    if data["service"]["id"] != service.service_id:
        raise RegistrationError(
            _("This manifest is for %(other)s, not %(id)s: service.id cannot change.")
            % {"other": data["service"]["id"], "id": service.service_id}
        )
    conflicts = manifest_conflicts_with_live_subscriptions(service, data)
    if conflicts:
        raise RegistrationError(" ".join(conflicts))
    service_verify_reachable(service_id=service.service_id, manifest=data)
    with transaction.atomic():
        manifest = _record_manifest(
            vendor=service.vendor,
            service=service,
            raw_text=raw_text,
            result=result,
            submitted_by=submitted_by,
        )
        service.current_manifest = manifest
        service.name = data["service"]["name"]
        service.description = data["service"].get("description", "")
        service.base_url = data["endpoints"]["base_url"]
        service.save()
        _sync_plans(service, data)
        event_record(type="service.manifest_updated", actor=submitted_by, service=service)
    service_list_if_ready(service=service)
    return manifest


def manifest_diff(old: Manifest | None, new: Manifest) -> str:
    """A unified diff of two manifest versions' raw text."""
    old_lines = old.raw_text.splitlines(keepends=True) if old else []
    return "".join(
        difflib.unified_diff(
            old_lines,
            new.raw_text.splitlines(keepends=True),
            fromfile=f"#{old.number}" if old else "(none)",
            tofile=f"#{new.number}",
        )
    )


def credential_rotate(*, service: Service, overlap_hours: int | None = None) -> IssuedCredentials:
    """Issue new credentials; the old ones keep working for the overlap window."""
    if overlap_hours is None:
        overlap_hours = MarketPolicy.load().credential_overlap_hours
    issued = _new_credentials()
    now = timezone.now()
    with transaction.atomic():
        ServiceCredential.objects.filter(service=service, expires_at__isnull=True).update(
            expires_at=now + timedelta(hours=overlap_hours)
        )
        ServiceCredential.objects.filter(service=service, expires_at__lte=now).delete()
        ServiceCredential.objects.create(
            service=service, api_key=issued.api_key, signing_secret=issued.signing_secret
        )
        event_record(type="service.credentials_rotated", service=service, data={"overlap_hours": overlap_hours})  # fmt: skip
    return issued


def service_unlist(*, service: Service, unlisted_by: User | None = None) -> Service:
    """Take a service out of the catalog; live subscriptions keep running."""
    with transaction.atomic():
        service.status = Service.Status.UNLISTED
        service.save(update_fields=["status", "updated_at"])
        event_record(type="service.unlisted", actor=unlisted_by, service=service)
    return service


def service_approve(*, service: Service) -> Service:
    """Staff approval by hand: list a service whatever its listing checklist says."""
    if service.status == Service.Status.LISTED:
        return service
    with transaction.atomic():
        service.status = Service.Status.LISTED
        service.listed_via = Service.ListedVia.STAFF
        service.save(update_fields=["status", "listed_via", "updated_at"])
        event_record(type="service.listed", service=service)
    return service
