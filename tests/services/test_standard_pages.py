"""The published standard at /standard/ and the market's keys at /.well-known/jwks.json."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
import yaml
from django.urls import reverse

from services import standard_views
from services.vendor_client.jwt_keys import issue_service_token

pytestmark = pytest.mark.django_db

STANDARD_DIR = Path(__file__).resolve().parents[2] / "docs" / "standard"
SCHEMA_NAMES = sorted(path.name for path in (STANDARD_DIR / "schemas").glob("*.schema.json"))


@pytest.fixture
def fake_standard(tmp_path, monkeypatch):
    """A docs/standard folder of our own, for pages that do not (yet) exist upstream."""
    root = tmp_path / "standard"
    (root / "schemas").mkdir(parents=True)
    (root / "openapi.yaml").write_text("openapi: 3.1.0\n", encoding="utf-8")
    (root / "schemas" / "health.response.schema.json").write_text("{}", encoding="utf-8")
    (root / "schemas" / "notes.txt").write_text("not a schema", encoding="utf-8")
    monkeypatch.setattr(standard_views, "standard_dir", lambda: root)
    standard_views._rendered.cache_clear()
    yield root
    standard_views._rendered.cache_clear()


# -- pages -----------------------------------------------------------------------------------


def test_index_is_public_and_lists_pages_files_and_keys(client):
    response = client.get(reverse("standard-index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("standard-page", args=["api"]) in html
    assert reverse("standard-page", args=["outcomes"]) in html
    assert reverse("standard-raw", args=["openapi.yaml"]) in html
    assert reverse("jwks") in html
    for name in SCHEMA_NAMES:
        assert reverse("standard-raw", args=[f"schemas/{name}"]) in html
    assert 'class="site-header"' in html, "the page extends base.html"


@pytest.mark.parametrize(
    "slug,file_name",
    [(page.slug, page.file_name) for page in standard_views.PAGES],
)
def test_each_published_page_renders_its_markdown(client, slug, file_name):
    path = STANDARD_DIR / file_name
    assert path.exists(), f"docs/standard/{file_name} is listed as a published page"
    first_heading = next(
        line.lstrip("# ").strip() for line in path.read_text().splitlines() if line.startswith("#")
    )

    response = client.get(reverse("standard-page", args=[slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert f">{first_heading.split('`')[0].split('(')[0].strip()}" in html


def test_api_page_links_to_other_pages_and_raw_schemas_inside_the_market(client):
    html = client.get(reverse("standard-page", args=["api"])).content.decode()

    assert f'href="{reverse("standard-page", args=["outcomes"])}"' in html
    assert f'href="{reverse("standard-page", args=["signing"])}"' in html
    assert (
        f'href="{reverse("standard-raw", args=["schemas/activate.request.schema.json"])}"' in html
    )
    assert f'href="{reverse("standard-raw", args=["openapi.yaml"])}"' in html
    assert '<table class="table">' in html
    assert 'id="한국어-요약"' in html, "the Korean summary keeps its anchor"


def test_markdown_html_is_escaped_and_unsafe_links_dropped(client, fake_standard):
    (fake_standard / "outcomes.md").write_text(
        "# Outcomes\n\n<script>alert('x')</script>\n\n"
        "Text <img src=x onerror=alert(1)> [bad](javascript:alert(1)) "
        "[good](https://market.example/) [sign](signing.md#rotation) [gone](../../settings.py)\n",
        encoding="utf-8",
    )

    html = client.get(reverse("standard-page", args=["outcomes"])).content.decode()

    body = html.split('class="standard-body"', 1)[1]
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "<img" not in body and "&lt;img" in body
    assert "javascript:" not in body
    assert "<a>bad</a>" in body
    assert '<a href="https://market.example/">good</a>' in body
    assert f'<a href="{reverse("standard-page", args=["signing"])}#rotation">sign</a>' in body
    assert "<a>gone</a>" in body


def test_a_page_whose_file_does_not_exist_is_404_and_not_listed(client, fake_standard):
    (fake_standard / "signing.md").write_text("# Signing\n", encoding="utf-8")

    index = client.get(reverse("standard-index")).content.decode()

    assert client.get(reverse("standard-page", args=["manifest"])).status_code == 404
    assert reverse("standard-page", args=["manifest"]) not in index
    assert reverse("standard-page", args=["signing"]) in index


def test_unknown_page_is_404(client):
    assert client.get("/standard/no-such-page/").status_code == 404


# -- raw files -------------------------------------------------------------------------------


def test_openapi_is_served_as_yaml(client):
    response = client.get(reverse("standard-raw", args=["openapi.yaml"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response.content == (STANDARD_DIR / "openapi.yaml").read_bytes()
    assert yaml.safe_load(response.content)["openapi"].startswith("3.1")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_is_served_as_schema_json(client, name):
    response = client.get(reverse("standard-raw", args=[f"schemas/{name}"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.content)["$id"].endswith(f"/standard/schemas/{name}")


@pytest.mark.parametrize(
    "path",
    [
        "/standard/schemas/../../pyproject.toml",
        "/standard/schemas/..%2F..%2Fpyproject.toml",
        "/standard/schemas/%2e%2e%2f%2e%2e%2fmanage.py",
        "/standard/schemas/..",
        "/standard/schemas/.hidden.schema.json",
        "/standard/../pyproject.toml",
        "/standard/schemas/health.response.schema.json/../../../manage.py",
        "/standard/schemas/no-such.schema.json",
        "/standard/README.md",
        "/standard/signing.md",
    ],
)
def test_only_published_files_are_served_no_path_traversal(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert b"[project]" not in response.content
    assert b"DJANGO_SETTINGS_MODULE" not in response.content


def test_files_in_the_schema_folder_that_are_not_schemas_are_not_served(client, fake_standard):
    assert client.get("/standard/schemas/health.response.schema.json").status_code == 200
    assert client.get("/standard/schemas/notes.txt").status_code == 404


def test_raw_files_only_answer_get_and_head(client):
    url = reverse("standard-raw", args=["openapi.yaml"])

    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405


# -- keys ------------------------------------------------------------------------------------


def test_jwks_is_public_and_verifies_market_tokens(client, settings):
    response = client.get(reverse("jwks"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    keys = response.json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "no private key material"

    token = issue_service_token("reference_tutor")
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="reference_tutor",
        issuer=settings.MARKET_BASE_URL.rstrip("/"),
    )
    assert claims["token_use"] == "service"
