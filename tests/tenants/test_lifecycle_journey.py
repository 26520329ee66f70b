"""The whole lifecycle through a real Celery worker against the reference vendor over HTTP."""

import datetime

import pytest
from django.utils import timezone

from mailer.models import OutgoingMail
from tenants.models import Operation, Subscription, Tenant
from tenants.operations import calendar
from tenants.operations.services import subscription_create, subscription_renew
from tests.factories import OrganizationFactory, SchoolAdminFactory, VendorFactory
from tests.support.vendors import register_reference_service
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker


def tenant_state(tenant_pk):
    return Tenant.objects.get(pk=tenant_pk).state


def mail_files(folder):
    return sorted(folder.glob("*.log"))


def test_subscribe_expire_and_renew_through_a_real_worker(
    celery_worker, reference_vendor, sent_mail_dir
):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    school = OrganizationFactory(name="한림대학교", slug="hallym_univ")
    SchoolAdminFactory(organization=school, email="admin@hallym.ac.kr")
    premium = service.plans.get(code="premium")
    today = timezone.localdate()

    subscription = subscription_create(
        organization=school,
        service=service,
        plan=premium,
        ends_on=today + datetime.timedelta(days=30),
        max_users=500,
        storage_limit_gb=100,
        admin_email="admin@hallym.ac.kr",
        admin_name="홍길동",
    )
    tenant_pk = subscription.tenant_id
    wait_until(lambda: tenant_state(tenant_pk) == Tenant.State.ACTIVE, timeout=30,
               message="the tenant never became active")  # fmt: skip
    tenant = Tenant.objects.get(pk=tenant_pk)
    assert tenant.access_url.endswith("/app/hallym_univ")
    assert tenant.plan_code == "premium"
    assert reference_vendor.stats()["distinct_request_ids"]["activate"] == 1
    # The worker tells the school its service is ready: the access URL, never the password.
    ready_mails = wait_until(
        lambda: [f for f in mail_files(sent_mail_dir) if tenant.access_url in f.read_text()],
        timeout=15,
        message="no 'service is ready' e-mail was sent",
    )
    assert len(ready_mails) == 1
    ready_text = ready_mails[0].read_text()
    assert "admin@hallym.ac.kr" in ready_text
    assert not tenant.temp_password or tenant.temp_password not in ready_text

    # The calendar jobs take "today" as an argument, so time moves forward for the market's
    # schedule while the worker and the vendor keep their real clocks (and signatures stay fresh).
    notice_day = subscription.ends_on - datetime.timedelta(days=7)
    assert calendar.process_subscription_dates(today=notice_day)["notices"] == 1
    assert calendar.process_subscription_dates(today=notice_day)["notices"] == 0
    notice = OutgoingMail.objects.get(kind="expiry_notice")
    assert notice.to == ["admin@hallym.ac.kr"]
    assert "Reference Tutor" in notice.subject
    # The worker sends it from the outbox (its e-mail backend writes files).
    wait_until(
        lambda: [f for f in mail_files(sent_mail_dir) if notice.message_id in f.read_text()],
        timeout=15,
        message="the worker never sent the expiry notice",
    )

    # The end date: the market deactivates with data kept, then invites the school to renew.
    assert calendar.process_subscription_dates(today=subscription.ends_on)["expired"] == 1
    wait_until(lambda: tenant_state(tenant_pk) == Tenant.State.DEACTIVATED, timeout=30,
               message="the tenant was never deactivated")  # fmt: skip
    assert calendar.process_subscription_dates(today=subscription.ends_on)["expired"] == 0
    # The worker writes the e-mail file; wait for its content, not only for the file.
    renewal = OutgoingMail.objects.get(kind="renewal_notice")
    assert renewal.to == ["admin@hallym.ac.kr"]
    renewal_mails = wait_until(
        lambda: [f for f in mail_files(sent_mail_dir) if renewal.message_id in f.read_text()],
        timeout=15,
        message="no renewal notice was sent",
    )
    assert len(renewal_mails) == 1
    # The "service is ready" e-mail, the expiry notice and the renewal notice: each once.
    assert len(mail_files(sent_mail_dir)) == 3, "each notice once"
    assert OutgoingMail.objects.filter(state=OutgoingMail.State.SENT).count() == 3
    tenant.refresh_from_db()
    assert tenant.data_preserved is True
    assert tenant.reactivation_deadline is not None
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ENDED
    assert subscription.expiry_notice_sent_at is not None
    assert subscription.renewal_notice_sent_at is not None

    # Renewing after deactivation reactivates the same tenant at the vendor.
    renewed = subscription_renew(
        subscription=subscription, ends_on=today + datetime.timedelta(days=400)
    )
    assert renewed.pk != subscription.pk
    wait_until(lambda: tenant_state(tenant_pk) == Tenant.State.ACTIVE, timeout=30,
               message="the renewal never reactivated the tenant")  # fmt: skip
    assert (
        Operation.objects.filter(tenant_id=tenant_pk, state=Operation.State.SUCCEEDED).count() == 3
    )
    stats = reference_vendor.stats()
    assert stats["distinct_request_ids"]["activate"] == 2
    assert stats["distinct_request_ids"]["deactivate"] == 1
