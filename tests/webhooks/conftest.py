import pytest

from market.api.principal import Principal
from tests.factories import OrganizationFactory, ServiceFactory, SubscriptionFactory
from tests.support.receiver import Receiver
from webhooks.models import Endpoint
from webhooks.signing import secret_new


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def school_principal(organization) -> Principal:
    return Principal(scope="organization", organization_id=organization.pk)


def make_endpoint(url, *, organization=None, vendor=None, event_types=("*",)) -> Endpoint:
    """An endpoint row as registration leaves it (registration itself is tested apart)."""
    kind = "organization" if organization else "vendor" if vendor else "staff"
    return Endpoint.objects.create(
        owner_kind=kind,
        organization=organization,
        vendor=vendor,
        url=url,
        event_types=list(event_types),
        secret=secret_new(),
    )


@pytest.fixture
def two_schools(db):
    service = ServiceFactory()
    first = SubscriptionFactory(service=service, organization=OrganizationFactory(name="한림대"))
    second = SubscriptionFactory(service=service, organization=OrganizationFactory(name="KDU"))
    return first, second
