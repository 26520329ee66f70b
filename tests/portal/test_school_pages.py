"""The school admin's pages: what they show and what their forms do."""

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal

import jwt
import pytest
from django.urls import reverse
from django.utils import timezone

from market.lib.months import days_in_month
from services.vendor_client.jwt_keys import market_private_key
from tenants.models import LifecycleEvent, Operation, PlanChange, Subscription, Tenant
from tests.portal.conftest import listed_service

pytestmark = pytest.mark.django_db


def subscribe_data(**overrides):
    data = {
        "plan": "basic",
        "ends_on": (timezone.localdate() + datetime.timedelta(days=90)).isoformat(),
        "max_users": "50",
        "storage_limit_gb": "5",
        "admin_email": "it@alpha.example",
        "admin_name": "홍길동",
        "idempotency_key": "key-1",
    }
    data.update(overrides)
    return data


# --- catalog ---------------------------------------------------------------------------------


def test_catalog_searches_name_and_description(world, as_user):
    client = as_user(world.admin_a)
    page = client.get(reverse("school-catalog"), {"q": "beta"}).content.decode()
    assert "Beta Bot" in page
    assert "Alpha Tutor" not in page
    world.service_a.description = "Quiz practice for physics"
    world.service_a.save()
    page = client.get(reverse("school-catalog"), {"q": "PHYSICS"}).content.decode()
    assert "Alpha Tutor" in page
    assert "Beta Bot" not in page


def test_catalog_filters_by_category_and_feature(world, as_user):
    client = as_user(world.admin_a)
    listed_service(
        vendor=world.vendor_b, service_id="gamma_quiz", name="Gamma Quiz", categories=("quiz",)
    )
    world.service_b.plans.filter(code="premium").update(features=["ai_chat", "voice"])
    by_category = client.get(reverse("school-catalog"), {"category": "chatbot"}).content.decode()
    assert "Beta Bot" in by_category
    assert "Alpha Tutor" not in by_category
    assert "Gamma Quiz" not in by_category
    by_feature = client.get(reverse("school-catalog"), {"feature": "voice"}).content.decode()
    assert "Beta Bot" in by_feature
    assert "Alpha Tutor" not in by_feature
    # Every category stays selectable while a filter is on.
    assert 'value="quiz"' in by_feature


@pytest.mark.parametrize(
    ("language", "query", "label", "unit"),
    [
        ("ko", "튜터링", "AI 채팅", "AI 토큰당 4 KRW"),
        ("en", "tutoring", "AI chat", "4 KRW per AI token"),
    ],
)
def test_catalog_shows_and_searches_labels_never_slugs(
    world, as_user, language, query, label, unit
):
    """Categories and features show their label in the reader's language; search matches it."""
    client = as_user(world.admin_a)
    client.cookies["django_language"] = language
    world.service_a.plans.filter(code="premium").update(unit_prices={"ai_tokens": "4"})
    found = client.get(reverse("school-catalog"), {"q": query}).content.decode()
    assert "Alpha Tutor" in found
    assert "Beta Bot" not in found
    assert f">{label}<" in found, "the feature filter shows the label"
    assert ">ai_chat<" not in found and ">tutoring<" not in found
    detail = client.get(reverse("school-service", args=[world.service_a.service_id])).content
    detail = detail.decode()
    assert unit in detail
    assert "<code>ai_chat</code>" not in detail


def test_catalog_hides_unlisted_services_and_their_pages(world, as_user):
    world.service_b.status = world.service_b.Status.UNLISTED
    world.service_b.save()
    client = as_user(world.admin_a)
    assert "Beta Bot" not in client.get(reverse("school-catalog")).content.decode()
    assert client.get(reverse("school-service", args=["beta_bot"])).status_code == 404
    assert client.get(reverse("school-subscribe", args=["beta_bot"])).status_code == 404


def test_catalog_shows_each_services_health(world, as_user):
    world.service_b.health = "degraded"
    world.service_b.save()
    page = as_user(world.admin_a).get(reverse("school-catalog")).content.decode()
    assert "health-degraded" in page


def test_service_page_compares_plans_with_features_as_rows(world, as_user):
    page = as_user(world.admin_a).get(reverse("school-service", args=["beta_bot"])).content
    page = page.decode()
    table = page[page.index('class="table compare"') :]
    assert table.index("Basic") < table.index("Premium")
    assert "500,000" in table or "500.000" in table or "500000" in table
    quiz_row = re.search(r"퀴즈</th>(.*?)</tr>", table, re.S).group(1)
    # basic lacks quiz, premium has it.
    assert quiz_row.index('class="no"') < quiz_row.index('class="yes"')
    assert "?plan=premium" in table


# --- subscribing -----------------------------------------------------------------------------


def test_subscribing_creates_the_subscription_and_queues_the_activation(world, as_user):
    client = as_user(world.admin_a)
    form = client.get(reverse("school-subscribe", args=["beta_bot"]))
    assert form.status_code == 200
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form.content.decode())
    assert key, "each rendered form carries a fresh idempotency key"
    response = client.post(
        reverse("school-subscribe", args=["beta_bot"]),
        subscribe_data(idempotency_key=key.group(1)),
    )
    subscription = Subscription.objects.get(organization=world.school_a, service=world.service_b)
    assert response.status_code == 302
    assert response.url == reverse("school-subscription", args=[subscription.pk])
    assert subscription.created_by == world.admin_a
    assert subscription.max_users == 50
    assert Operation.objects.filter(tenant=subscription.tenant, kind="activate").count() == 1


def test_a_double_submit_creates_one_subscription(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscribe", args=["beta_bot"])
    first = client.post(url, subscribe_data(idempotency_key="same-key"))
    second = client.post(url, subscribe_data(idempotency_key="same-key"))
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert (
        Subscription.objects.filter(organization=world.school_a, service=world.service_b).count()
        == 1
    )


def test_limit_errors_appear_next_to_their_field_in_korean_and_keep_what_was_typed(world, as_user):
    client = as_user(world.admin_a)
    response = client.post(
        reverse("school-subscribe", args=["beta_bot"]),
        subscribe_data(max_users="5000", admin_name="김철수"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(r'id="id_max_users_error">(.*?)</div>', page, re.S)
    assert error, "the error sits under the max users field"
    assert "100" in error.group(1)
    assert re.search(r"[가-힣]", error.group(1)), "the error is in Korean by default"
    assert 'value="5000"' in page
    assert 'value="김철수"' in page
    assert 'aria-invalid="true"' in page
    assert not Subscription.objects.filter(
        organization=world.school_a, service=world.service_b
    ).exists()


def test_errors_are_in_english_after_switching_language(world, as_user):
    client = as_user(world.admin_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.post(
        reverse("school-subscribe", args=["beta_bot"]),
        subscribe_data(storage_limit_gb="999"),
    )
    error = re.search(
        r'id="id_storage_limit_gb_error">(.*?)</div>', response.content.decode(), re.S
    )
    assert "allows at most 10 GB" in error.group(1)


def test_missing_fields_are_reported_each_under_its_field(world, as_user):
    client = as_user(world.admin_a)
    response = client.post(
        reverse("school-subscribe", args=["beta_bot"]),
        subscribe_data(admin_email="not-an-address", ends_on=""),
    )
    page = response.content.decode()
    assert 'id="id_admin_email_error"' in page
    assert 'id="id_ends_on_error"' in page


def test_subscribe_page_sends_a_school_already_subscribed_to_its_subscription(world, as_user):
    response = as_user(world.admin_a).get(reverse("school-subscribe", args=["alpha_tutor"]))
    assert response.status_code == 302
    assert response.url == reverse("school-subscription", args=[world.subscription_a.pk])


# --- one subscription ------------------------------------------------------------------------


def test_state_fragment_polls_while_the_tenant_settles_and_stops_when_settled(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscription-state", args=[world.subscription_a.pk])
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(state="activating")
    settling = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in settling
    assert "<html" not in settling, "the fragment is not a whole page"
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(state="active")
    settled = client.get(url).content.decode()
    assert "hx-trigger" not in settled
    assert "alpha.example/app/alpha_school" in settled


def test_subscription_page_shows_status_usage_chart_and_history(world, as_user):
    page = as_user(world.admin_a).get(
        reverse("school-subscription", args=[world.subscription_a.pk])
    )
    html = page.content.decode()
    assert '<svg class="chart"' in html
    assert html.count('class="chart-bar"') >= 2
    assert "3400" in html  # the exact value, in a bar's title and the table
    assert ">42<" in html  # users from the last status
    assert "event-of-alpha" in html


def test_launch_posts_a_launch_token_when_the_manifest_supports_it(world, as_user):
    response = as_user(world.admin_a).get(
        reverse("school-subscription-launch", args=[world.subscription_a.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="http://127.0.0.1:9001/app/alpha_school"' in html
    assert "launch_token=" not in html  # the token is a form field, never in a URL
    assert "form-action 'self' http://127.0.0.1:9001" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("no-store")
    token = re.search(r'name="launch_token" value="([^"]+)"', html).group(1)
    claims = jwt.decode(
        token, market_private_key().public_key(), algorithms=["RS256"], audience="alpha_tutor"
    )
    assert claims["tenant_id"] == "alpha_school"
    assert claims["sub"] == str(world.admin_a.pk)
    assert claims["exp"] - claims["iat"] <= 300


def test_launch_goes_to_the_access_url_without_launch_support(world, as_user):
    manifest = world.service_a.current_manifest
    manifest.data = {**manifest.data, "launch": {"supported": False}}
    manifest.save()
    response = as_user(world.admin_a).get(
        reverse("school-subscription-launch", args=[world.subscription_a.pk])
    )
    assert response.url == "https://alpha.example/app/alpha_school"


def test_launch_is_refused_while_the_tenant_is_not_active(world, as_user):
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(state="activating")
    response = as_user(world.admin_a).get(
        reverse("school-subscription-launch", args=[world.subscription_a.pk])
    )
    assert response.url == reverse("school-subscription", args=[world.subscription_a.pk])


def test_temporary_password_is_revealed_once_then_erased(world, as_user):
    tenant = Tenant.objects.get(pk=world.subscription_a.tenant_id)
    tenant.temp_password = "Temp-Pass-123"
    tenant.save()
    client = as_user(world.admin_a)
    detail = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    assert "Temp-Pass-123" not in detail.content.decode()
    url = reverse("school-subscription-credentials", args=[world.subscription_a.pk])
    first = client.post(url)
    assert "Temp-Pass-123" in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    tenant.refresh_from_db()
    assert tenant.temp_password == ""
    assert tenant.credentials_revealed_at is not None
    assert LifecycleEvent.objects.filter(tenant=tenant, kind="credentials_revealed").count() == 1
    second = client.post(url, follow=True)
    assert "Temp-Pass-123" not in second.content.decode()


def test_reveal_is_post_only(world, as_user):
    url = reverse("school-subscription-credentials", args=[world.subscription_a.pk])
    assert as_user(world.admin_a).get(url).status_code == 405


def test_vendor_emailed_credentials_are_mentioned(world, as_user):
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(
        credentials_emailed_by_vendor=True
    )
    page = as_user(world.admin_a).get(
        reverse("school-subscription", args=[world.subscription_a.pk])
    )
    assert "it@alpha.example" in page.content.decode()


def test_renewing_extends_the_end_date_and_a_repeat_is_harmless(world, as_user):
    client = as_user(world.admin_a)
    new_end = world.subscription_a.ends_on + datetime.timedelta(days=30)
    url = reverse("school-subscription-renew", args=[world.subscription_a.pk])
    assert client.post(url, {"ends_on": new_end.isoformat()}).status_code == 302
    assert client.post(url, {"ends_on": new_end.isoformat()}).status_code == 302
    world.subscription_a.refresh_from_db()
    assert world.subscription_a.ends_on == new_end
    renewals = LifecycleEvent.objects.filter(kind="subscription_renewed")
    assert renewals.count() == 1


def test_renewing_to_an_earlier_date_shows_the_error_under_the_date(world, as_user):
    client = as_user(world.admin_a)
    response = client.post(
        reverse("school-subscription-renew", args=[world.subscription_a.pk]),
        {"ends_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 200
    assert 'id="id_ends_on_error"' in response.content.decode()


def test_changing_plan_queues_an_update(world, as_user):
    client = as_user(world.admin_a)
    response = client.post(
        reverse("school-subscription-plan", args=[world.subscription_a.pk]), {"plan": "premium"}
    )
    assert response.status_code == 302
    operation = Operation.objects.get(tenant_id=world.subscription_a.tenant_id, kind="update")
    assert operation.payload["plan"] == "premium"


def test_plan_change_offers_only_allowed_plans(world, as_user):
    world.service_a.plans.filter(code="basic").update(allowed_changes=["gold"])
    client = as_user(world.admin_a)
    response = client.post(
        reverse("school-subscription-plan", args=[world.subscription_a.pk]), {"plan": "premium"}
    )
    assert response.status_code == 200
    assert 'id="id_plan_error"' in response.content.decode()
    assert not Operation.objects.filter(kind="update").exists()


def test_cancel_asks_for_confirmation_then_deactivates(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscription-cancel", args=[world.subscription_a.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.content.decode()
    world.subscription_a.refresh_from_db()
    assert world.subscription_a.is_live, "a GET changes nothing"
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302  # the double submit is harmless
    world.subscription_a.refresh_from_db()
    assert world.subscription_a.status == Subscription.Status.CANCELLED
    tenant = Tenant.objects.get(pk=world.subscription_a.tenant_id)
    assert tenant.state == Tenant.State.DEACTIVATING
    assert Operation.objects.filter(tenant=tenant, kind="deactivate").count() == 1


def test_subscription_list_shows_live_and_ended(world, as_user):
    Subscription.objects.filter(pk=world.subscription_a.pk).update(status="cancelled")
    renewed = Subscription.objects.get(pk=world.subscription_a.pk)
    renewed.pk = None
    renewed.status = "active"
    renewed.idempotency_key = ""
    renewed.save()
    response = as_user(world.admin_a).get(reverse("school-subscriptions"))
    assert [s.pk for s in response.context["live"]] == [renewed.pk]
    assert [s.pk for s in response.context["past"]] == [world.subscription_a.pk]
    assert response.content.decode().count("Alpha Tutor") == 2


# --- team ------------------------------------------------------------------------------------


def test_inviting_an_admin_creates_the_account_and_mails_a_set_password_link(
    world, as_user, mailoutbox, client
):
    as_user(world.admin_a)
    response = client.post(
        reverse("school-team"), {"name": "Kim Minji", "email": "Minji@Alpha.example"}
    )
    assert response.status_code == 302
    invited = world.school_a.admins.get(email="minji@alpha.example")
    assert not invited.has_usable_password()
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/reset/\S+", mailoutbox[0].body).group(0)
    client.logout()
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)
    assert form.context["validlink"] is True


def test_inviting_an_address_with_an_account_elsewhere_reveals_nothing(world, as_user, mailoutbox):
    """Another school's admin gets the same answer as a new address; its owner is told."""
    client = as_user(world.admin_a)
    answers = []
    for email in (world.admin_b.email.upper(), "new@alpha.example"):
        response = client.post(reverse("school-team"), {"name": "Someone", "email": email})
        shown = [str(m) for m in client.get(response.url).context["messages"]]
        answers.append((response.status_code, response.url, shown[0].replace(email.lower(), "@")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302
    world.admin_b.refresh_from_db()
    assert world.admin_b.organization_id == world.school_b.pk, "the account is not moved"
    assert not world.school_a.admins.filter(email__iexact=world.admin_b.email).exists()
    to_existing = [m for m in mailoutbox if m.to == [world.admin_b.email]]
    assert len(to_existing) == 1
    assert "/reset/" not in to_existing[0].body, "no set-password link for an existing account"


def test_inviting_an_admin_of_the_same_school_shows_the_error_under_the_email(world, as_user):
    response = as_user(world.admin_a).post(
        reverse("school-team"), {"name": "Someone", "email": world.admin_a.email}
    )
    assert response.status_code == 200
    assert 'id="id_email_error"' in response.content.decode()


def test_renewing_an_ended_subscription_reactivates_the_tenant(world, as_user):
    Subscription.objects.filter(pk=world.subscription_a.pk).update(status="cancelled")
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(
        state="deactivated", data_preserved=True
    )
    client = as_user(world.admin_a)
    detail = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    assert reverse("school-subscription-renew", args=[world.subscription_a.pk]) in (
        detail.content.decode()
    )
    new_end = world.subscription_a.ends_on + datetime.timedelta(days=30)
    response = client.post(
        reverse("school-subscription-renew", args=[world.subscription_a.pk]),
        {"ends_on": new_end.isoformat()},
    )
    renewed = Subscription.objects.get(organization=world.school_a, status="active")
    assert renewed.pk != world.subscription_a.pk
    assert response.url == reverse("school-subscription", args=[renewed.pk])
    assert Tenant.objects.get(pk=renewed.tenant_id).state == Tenant.State.REACTIVATING
    old_page = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    assert reverse("school-subscription", args=[renewed.pk]) in old_page.content.decode()


def test_a_manifest_label_shows_and_is_searched_and_staff_labels_win(world, as_user):
    from services.models import CatalogLabel

    manifest = world.service_a.current_manifest
    manifest.data = {
        **manifest.data,
        "labels": {"categories": {"tutoring": {"ko": "1:1 과외", "en": "One-to-one lessons"}}},
    }
    manifest.save()
    client = as_user(world.admin_a)
    client.cookies["django_language"] = "ko"
    found = client.get(reverse("school-catalog"), {"q": "과외"}).content.decode()
    assert "Alpha Tutor" in found and ">1:1 과외<" in found
    client.cookies["django_language"] = "en"
    found = client.get(reverse("school-catalog"), {"q": "one-to-one"}).content.decode()
    assert "Alpha Tutor" in found and ">One-to-one lessons<" in found

    CatalogLabel.objects.create(
        kind="category", code="tutoring", label_ko="개별 지도", label_en="Coaching"
    )
    detail = client.get(reverse("school-service", args=[world.service_a.service_id]))
    assert ">Coaching<" in detail.content.decode()
    assert "One-to-one lessons" not in detail.content.decode()


def test_the_detail_page_shows_what_a_plan_change_and_a_renewal_cost(world, as_user):
    client = as_user(world.admin_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    text = page.content.decode()
    today = timezone.localdate()
    rest = days_in_month(today) - today.day + 1
    premium = (Decimal(500000) * rest / days_in_month(today)).quantize(1, ROUND_HALF_UP)
    basic = (Decimal(100000) * rest / days_in_month(today)).quantize(1, ROUND_HALF_UP)
    assert f"Premium: {premium:,} KRW" in text
    assert f"instead of {basic:,} KRW (difference {premium - basic:,} KRW)" in text
    assert 'data-testid="renewal-quote"' in text


def test_a_plan_change_from_the_portal_snapshots_the_new_plans_price(world, as_user):
    client = as_user(world.admin_a)
    client.post(
        reverse("school-subscription-plan", args=[world.subscription_a.pk]), {"plan": "premium"}
    )
    change = PlanChange.objects.get(subscription=world.subscription_a)
    world.service_a.plans.filter(code="premium").update(price=1)
    change.refresh_from_db()
    assert (change.to_plan.code, change.price, change.effective_at) == ("premium", 500000, None)
    world.subscription_a.refresh_from_db()
    assert world.subscription_a.price == 100000


def test_every_subscribe_error_shows_in_one_submit_and_nothing_is_stored(world, as_user):
    client = as_user(world.admin_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    before = Subscription.objects.count()
    response = client.post(
        reverse("school-subscribe", args=["beta_bot"]),
        subscribe_data(
            ends_on="9999-12-31", max_users=187, storage_limit_gb=10, admin_email="not-an-address"
        ),
    )
    text = response.content.decode()
    assert response.status_code == 200
    for field in ("ends_on", "max_users", "admin_email"):
        assert f'id="id_{field}_error"' in text, field
    assert "at most 3 years" in text
    assert "at most 100 users" in text
    assert Subscription.objects.count() == before
