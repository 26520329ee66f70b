"""Each role lands on its own home page and nowhere else; staff can reach every model."""

import pytest
from django.apps import apps
from django.urls import reverse

from tests.factories import SchoolAdminFactory, StaffFactory, VendorUserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def login(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_school_admin_lands_on_school_home(client):
    admin = SchoolAdminFactory(organization__name="한림대학교")
    response = login(client, admin)
    assert client.get(response.url, follow=True).redirect_chain[-1][0] == reverse("school-home")
    assert "한림대학교" in client.get(reverse("school-home")).content.decode()


def test_school_admin_is_kept_out_of_vendor_and_staff_pages(client):
    login(client, SchoolAdminFactory())
    assert client.get(reverse("vendor-home")).status_code == 403
    assert client.get(reverse("staff-overview")).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_vendor_user_lands_on_vendor_home_and_not_school_home(client):
    user = VendorUserFactory(vendor__name="K-University AI Lab")
    login(client, user)
    assert client.get("/", follow=True).redirect_chain[-1][0] == reverse("vendor-home")
    assert client.get(reverse("school-home")).status_code == 403


def test_anonymous_home_page_is_public_and_role_pages_need_login(client):
    assert client.get("/").status_code == 200
    response = client.get(reverse("school-home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_wrong_password_is_refused_in_korean_by_default(client):
    user = SchoolAdminFactory()
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "사용자 이름과 비밀번호를 정확히 입력하세요" in page
    assert "와/과" not in page, "our catalog overrides Django's awkward Korean"


def test_password_reset_page_renders(client):
    assert client.get(reverse("password_reset")).status_code == 200


def _admin_models():
    from django.contrib import admin

    return [model for model in apps.get_models() if model in admin.site._registry]


def test_every_project_model_is_in_the_admin():
    from django.contrib import admin

    project_apps = {"market", "services", "tenants", "monitoring"}
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in project_apps and model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize("model", _admin_models(), ids=lambda m: m._meta.label)
def test_staff_can_open_every_admin_changelist(client, model):
    client.force_login(StaffFactory())
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200


def test_staff_overview_renders_for_staff(client):
    client.force_login(StaffFactory())
    response = client.get(reverse("staff-overview"))
    assert response.status_code == 200


def test_every_model_and_field_of_the_market_has_a_korean_name():
    """The admin has no English left: each verbose name is translated (gettext_lazy, English source)."""
    import re

    from django.apps import apps
    from django.utils import translation

    english = []
    with translation.override("ko"):
        for model in apps.get_models():
            if model._meta.app_label not in ("market", "services", "tenants", "monitoring"):
                continue
            names = [model._meta.verbose_name, model._meta.verbose_name_plural] + [
                field.verbose_name
                for field in model._meta.get_fields()
                if field.concrete and field.name != "id"
            ]
            english += [f"{model.__name__}: {n}" for n in names if not re.search("[가-힣]", str(n))]
    assert english == []


def test_django_admin_action_reads_naturally_in_korean(rf):
    from django.contrib import admin
    from django.utils import translation

    from tenants.admin import OperationAdmin
    from tenants.models import Operation

    request = rf.get("/")
    request.user = StaffFactory()
    with translation.override("ko"):
        actions = OperationAdmin(Operation, admin.site).get_actions(request)
        delete_label = str(actions["delete_selected"][2]) % {
            "verbose_name_plural": Operation._meta.verbose_name_plural
        }
        cancel_label = str(actions["cancel_operations"][2])
    assert delete_label == "선택한 작업 삭제"
    assert cancel_label == "선택한 작업 취소"
