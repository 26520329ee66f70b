"""Reference vendors on 127.0.0.1 for integration tests, and their registration in the market."""

import json
import urllib.request
from pathlib import Path

import yaml

from services.services import IssuedCredentials, service_approve, service_register
from vendorkit.reference_vendor import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE_MANIFEST = ROOT / "vendorkit" / "reference_manifest.yaml"
TEST_CREDENTIALS = IssuedCredentials(api_key="test-api-key", signing_secret="test-signing-secret")


class RunningVendor:
    """A reference vendor serving in a thread of the test process."""

    def __init__(self, tmp_path: Path, **options):
        self.server, self.base_url = serve_in_thread(
            api_keys=[TEST_CREDENTIALS.api_key],
            signing_secrets=[TEST_CREDENTIALS.signing_secret],
            db_path=str(tmp_path / f"vendor-{id(self)}.sqlite3"),
            **options,
        )

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/_stats", timeout=5) as response:  # noqa: S310
            return json.load(response)

    def stop(self) -> None:
        self.server.stop()


def manifest_text(*, base_url: str, service_id: str = "reference_tutor", **overrides) -> str:
    """The reference manifest pointed at base_url, with top-level sections replaced or added."""
    data = yaml.safe_load(REFERENCE_MANIFEST.read_text())
    data["endpoints"]["base_url"] = base_url
    data["service"]["id"] = service_id
    data.update(overrides)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def register_reference_service(
    *, vendor, base_url: str, service_id: str = "reference_tutor", listed: bool = True, **overrides
):
    """Register the reference manifest through the real flow (validation + health check).

    A new service waits for its listing checklist (services.listing); with ``listed`` (the
    default, for tests about something else) staff approve it by hand, as the admin action does.
    """
    service, _credentials = service_register(
        vendor=vendor,
        raw_text=manifest_text(base_url=base_url, service_id=service_id, **overrides),
        credentials=TEST_CREDENTIALS,
    )
    if listed:
        service = service_approve(service=service)
    return service
