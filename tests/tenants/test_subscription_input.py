"""One check of a subscription's terms for subscribe, renew and plan change: every problem at once."""

import datetime

import pytest
from django.utils import timezone, translation

from tenants.models import LifecycleEvent, Operation, PlanChange, Subscription, Tenant
from tenants.operations.services import (
    subscription_change_plan,
    subscription_create,
    subscription_renew,
)
from tenants.operations.subscription_input import PERIOD_MAX_DAYS, SubscriptionInputError
from tests.factories import OrganizationFactory, PlanFactory, SubscriptionFactory
from tests.tenants.test_subscription_rules import listed_service, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def snapshot() -> dict:
    models = (Subscription, Tenant, Operation, LifecycleEvent, PlanChange)
    return {model.__name__: list(model.objects.values()) for model in models}


def test_every_broken_rule_of_a_new_subscription_is_reported_at_once():
    service = listed_service()
    school = OrganizationFactory()
    before = snapshot()
    with pytest.raises(SubscriptionInputError) as raised:
        subscription_create(
            **request(
                service,
                school,
                ends_on=timezone.localdate() + datetime.timedelta(days=PERIOD_MAX_DAYS + 1),
                max_users=187,
                storage_limit_gb=49,
            )
        )
    fields = [field for field, _message in raised.value.errors]
    assert fields == ["ends_on", "max_users", "storage_limit_gb"]
    assert raised.value.status == 422
    assert "on or before" in raised.value.errors[0][1]
    assert "at most 100 users" in raised.value.errors[1][1]
    assert [item["field"] for item in raised.value.problem_errors()] == fields
    assert "3 problems" in raised.value.problem_detail()
    assert snapshot() == before


def test_a_renewal_past_three_years_is_refused_and_changes_nothing():
    subscription = SubscriptionFactory(plan=PlanFactory(max_users=None, storage_limit_gb=None))
    before = snapshot()
    with pytest.raises(SubscriptionInputError) as raised:
        subscription_renew(subscription=subscription, ends_on=datetime.date(9999, 12, 31))
    assert raised.value.field == "ends_on"
    latest = timezone.localdate() + datetime.timedelta(days=PERIOD_MAX_DAYS)
    assert latest.isoformat() in raised.value.message
    assert snapshot() == before
    # Exactly three years ahead is still a renewal.
    renewed = subscription_renew(subscription=subscription, ends_on=latest)
    assert renewed.ends_on == latest


def test_the_renewal_message_is_korean_by_default():
    subscription = SubscriptionFactory()
    with translation.override("ko"), pytest.raises(SubscriptionInputError) as raised:
        subscription_renew(subscription=subscription, ends_on=datetime.date(9999, 12, 31))
    assert "3년" in raised.value.message


def test_a_plan_change_to_a_plan_too_small_for_the_limits_is_refused():
    service = listed_service()
    manifest = service.current_manifest
    manifest.data = {
        **manifest.data,
        "endpoints": {**manifest.data["endpoints"], "tenant_update": "/t/{tenant_id}"},
    }
    manifest.save()
    subscription = SubscriptionFactory(
        service=service, plan=service.plans.get(code="premium"), max_users=187, storage_limit_gb=49
    )
    small = PlanFactory(
        service=subscription.service, code="small", max_users=100, storage_limit_gb=10
    )
    before = snapshot()
    with pytest.raises(SubscriptionInputError) as raised:
        subscription_change_plan(subscription=subscription, plan=small)
    assert [field for field, _m in raised.value.errors] == ["max_users", "storage_limit_gb"]
    assert snapshot() == before
