"""Call the vendor for one claimed operation, through the one vendor client; faults are data."""

import uuid
from dataclasses import dataclass

from services.vendor_client.client import VendorResponse
from services.vendor_targets import client_for
from tenants.models import Operation

K = Operation.Kind


@dataclass(frozen=True)
class Attempt:
    """What one attempt brought back: the main answer and, for a 409 or a poll, the status."""

    response: VendorResponse
    status: VendorResponse | None = None
    polled: bool = False


def vendor_call(operation: Operation) -> Attempt:
    client = client_for(operation.tenant.service)
    tenant_id = operation.tenant.tenant_id
    request_id = str(operation.request_id)
    try:
        if operation.polling:
            return Attempt(
                response=client.status(tenant_id, request_id=str(uuid.uuid4())), polled=True
            )
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
    finally:
        client.close()


def error_code(response: VendorResponse) -> str:
    return response.body.get("error", "") if isinstance(response.body, dict) else ""
