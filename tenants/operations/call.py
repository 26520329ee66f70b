"""Call the vendor for one claimed operation, through the one vendor client; faults are data.

Each worker thread keeps one client per service (its session and kept-alive connection, the
decrypted credentials) for ``CLIENT_TTL`` seconds: a thousand activations of one service read
the manifest and credentials, and open a connection, once per thread instead of once per call.
A client is built again when the service's row or manifest changed, when any credential was
saved or deleted in this process, after a 401 or 403, and when its time is up (a rotation made
in another process reaches this one within ``CLIENT_TTL``, inside the credentials' overlap).
"""

import threading
import time
import uuid
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from services.models import Service, ServiceCredential
from services.vendor_client.client import VendorClient, VendorResponse
from services.vendor_targets import client_for
from tenants.models import Operation

K = Operation.Kind
CLIENT_TTL = 60.0

_threads = threading.local()
_generation = 0  # bumped whenever a credential changes in this process


@receiver([post_save, post_delete], sender=ServiceCredential)
def _credentials_changed(**kwargs) -> None:
    global _generation
    _generation += 1


def _version(service: Service) -> tuple:
    return (service.current_manifest_id, service.updated_at, service.base_url, _generation)


def thread_client(service: Service) -> VendorClient:
    """This thread's client for the service, built again when it may be stale."""
    clients: dict = _threads.__dict__.setdefault("clients", {})
    entry = clients.get(service.pk)
    now = time.monotonic()
    if entry is not None:
        client, version, expires = entry
        if version == _version(service) and expires > now:
            return client
        client.close()
    client = client_for(service)
    clients[service.pk] = (client, _version(service), now + CLIENT_TTL)
    return client


def _forget_client(service: Service) -> None:
    entry = _threads.__dict__.get("clients", {}).pop(service.pk, None)
    if entry is not None:
        entry[0].close()


@dataclass(frozen=True)
class Attempt:
    """What one attempt brought back: the main answer and, for a 409 or a poll, the status."""

    response: VendorResponse
    status: VendorResponse | None = None
    polled: bool = False


def vendor_call(operation: Operation) -> Attempt:
    service = operation.tenant.service
    client = thread_client(service)
    try:
        attempt = _call(client, operation)
    except Exception:
        _forget_client(service)
        raise
    if attempt.response.status_code in (401, 403):
        _forget_client(service)  # perhaps rotated credentials: read them again next time
    return attempt


def _call(client: VendorClient, operation: Operation) -> Attempt:
    tenant_id = operation.tenant.tenant_id
    request_id = str(operation.request_id)
    if operation.polling:
        return Attempt(response=client.status(tenant_id, request_id=str(uuid.uuid4())), polled=True)
    if operation.kind == K.ACTIVATE:
        response = client.activate(tenant_id, operation.payload, request_id=request_id)
        if response.status_code == 409 and error_code(response) == "tenant_already_exists":
            return Attempt(response, client.status(tenant_id, request_id=str(uuid.uuid4())))
        return Attempt(response)
    if operation.kind == K.DEACTIVATE:
        return Attempt(client.deactivate(tenant_id, operation.payload, request_id=request_id))
    if operation.kind == K.UPDATE:
        return Attempt(client.update(tenant_id, operation.payload, request_id=request_id))
    if operation.kind == K.DELETE:
        return Attempt(client.delete(tenant_id, operation.payload, request_id=request_id))
    return Attempt(client.status(tenant_id, request_id=request_id))


def error_code(response: VendorResponse) -> str:
    return response.body.get("error", "") if isinstance(response.body, dict) else ""
