"""Both OpenAPI documents pass tools we did not write: Spectral (`spectral:oas`, 0 errors and
0 warnings) and openapi-spec-validator.

The two documents: the vendor API of the standard (docs/standard/openapi.yaml, which refers to
./schemas/*.json, and its one-file bundle openapi.bundled.yaml) and the integrator API the
market serves at /api/schema/ (drf-spectacular).

Spectral comes from npm (tools/spectral, installed by `make spectral`). Under `make test`
(SPECTRAL_REQUIRED=1) a missing Spectral fails these tests; a bare `pytest` skips them, saying
how to install it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tools import openapi_bundle

ROOT = Path(__file__).resolve().parents[2]
STANDARD_DIR = ROOT / "docs" / "standard"
SPECTRAL = ROOT / "tools" / "spectral" / "node_modules" / ".bin" / "spectral"
RULESET = ROOT / ".spectral.yaml"


@pytest.fixture(scope="module")
def integrator_schema_file(django_db_blocker, tmp_path_factory) -> Path:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    path = tmp_path_factory.mktemp("schema") / "integrator.json"
    path.write_bytes(response.content)
    return path


# -- the bundle --------------------------------------------------------------------------------


def test_the_committed_bundle_is_what_the_command_generates():
    committed = (STANDARD_DIR / "openapi.bundled.yaml").read_text(encoding="utf-8")
    assert committed == openapi_bundle.bundled_text(), (
        "docs/standard/openapi.bundled.yaml is stale: run `python -m tools.openapi_bundle` "
        "(or `make openapi-bundle`) and commit it."
    )


def test_the_bundle_has_no_external_ref_and_every_operation_of_the_source():
    source = yaml.safe_load((STANDARD_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    bundle = yaml.safe_load((STANDARD_DIR / "openapi.bundled.yaml").read_text(encoding="utf-8"))
    assert openapi_bundle.external_refs(source), "the source still uses ./schemas/ files"
    assert openapi_bundle.external_refs(bundle) == []
    assert bundle["paths"].keys() == source["paths"].keys()
    for path, item in source["paths"].items():
        assert bundle["paths"][path].keys() == item.keys(), path
    # Each inlined schema is the published file, minus the keywords of a standalone file.
    activate = json.loads((STANDARD_DIR / "schemas" / "activate.request.schema.json").read_text())
    inlined = bundle["components"]["schemas"]["ActivateRequest"]
    assert inlined == {k: v for k, v in activate.items() if k not in ("$id", "$schema")}


def test_the_check_mode_fails_on_a_stale_bundle(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "openapi.bundled.yaml"
    stale.write_text("openapi: 3.1.0\n", encoding="utf-8")
    monkeypatch.setattr(openapi_bundle, "BUNDLE", stale)
    assert openapi_bundle.main(["--check"]) == 1
    assert "python -m tools.openapi_bundle" in capsys.readouterr().err
    assert openapi_bundle.main([]) == 0
    assert openapi_bundle.main(["--check"]) == 0


def _standard_copy(tmp_path: Path, openapi_text: str, schemas: dict[str, dict]) -> Path:
    root = tmp_path / "standard"
    (root / "schemas").mkdir(parents=True)
    for name, schema in schemas.items():
        (root / "schemas" / name).write_text(json.dumps(schema), encoding="utf-8")
    (root / "openapi.yaml").write_text(openapi_text, encoding="utf-8")
    return root


MINIMAL = """openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /x:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "REF"}
      responses:
        "200": {description: ok}
"""


def test_the_bundler_points_internal_references_of_a_schema_at_its_new_home(tmp_path, monkeypatch):
    nested = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://market.example/standard/schemas/thing.request.schema.json",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/slug"}, "b": {"$ref": "./other.schema.json"}},
        "$defs": {"slug": {"type": "string"}},
    }
    root = _standard_copy(
        tmp_path,
        MINIMAL.replace("REF", "./schemas/thing.request.schema.json"),
        {"thing.request.schema.json": nested, "other.schema.json": {"type": "integer"}},
    )
    monkeypatch.setattr(openapi_bundle, "ROOT", tmp_path)
    monkeypatch.setattr(openapi_bundle, "STANDARD_DIR", root)
    document = openapi_bundle.bundled_document(root / "openapi.yaml")
    thing = document["components"]["schemas"]["ThingRequest"]
    assert "$id" not in thing and "$schema" not in thing
    assert thing["properties"]["a"] == {"$ref": "#/components/schemas/ThingRequest/$defs/slug"}
    assert thing["properties"]["b"] == {"$ref": "#/components/schemas/Other"}
    assert document["components"]["schemas"]["Other"] == {"type": "integer"}
    validate(document)  # openapi-spec-validator resolves the rewritten references


@pytest.mark.parametrize(
    "ref,message",
    [
        ("./schemas/missing.schema.json", "does not exist"),
        ("https://example.org/x.json", "only relative file references"),
        ("../../outside.json", "only files of the published standard"),
        ("./schemas/thing.schema.json#/nope", "names nothing"),
    ],
)
def test_the_bundler_says_which_reference_it_cannot_bundle(tmp_path, monkeypatch, ref, message):
    root = _standard_copy(tmp_path, MINIMAL.replace("REF", ref), {"thing.schema.json": {}})
    (tmp_path / "outside.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(openapi_bundle, "ROOT", tmp_path)
    monkeypatch.setattr(openapi_bundle, "STANDARD_DIR", root)
    with pytest.raises(openapi_bundle.BundleError, match=message) as caught:
        openapi_bundle.bundled_document(root / "openapi.yaml")
    assert ref in str(caught.value)


@pytest.mark.django_db
def test_the_bundle_is_published_under_standard(client):
    response = client.get("/standard/openapi.bundled.yaml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response.content == (STANDARD_DIR / "openapi.bundled.yaml").read_bytes()
    index = client.get("/standard/").content.decode()
    assert 'href="/standard/openapi.bundled.yaml"' in index


# -- openapi-spec-validator --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["openapi.bundled.yaml", "openapi.yaml"])
def test_openapi_spec_validator_accepts_the_vendor_api(name):
    document, base_uri = read_from_filename(str(STANDARD_DIR / name))
    validate(document, base_uri=base_uri)  # openapi.yaml: ./schemas/ resolved beside it


def test_openapi_spec_validator_accepts_the_integrator_api(integrator_schema_file):
    validate(json.loads(integrator_schema_file.read_text(encoding="utf-8")))


def test_openapi_spec_validator_would_refuse_a_broken_document():
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    document, _ = read_from_filename(str(STANDARD_DIR / "openapi.bundled.yaml"))
    del document["info"]["title"]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


# -- Spectral ----------------------------------------------------------------------------------


def _spectral_or_skip() -> Path:
    if SPECTRAL.exists():
        return SPECTRAL
    reason = (
        f"Spectral is not installed at {SPECTRAL.relative_to(ROOT)}: run `make spectral` "
        "(npm ci in tools/spectral; needs Node.js 18+ and npm)"
    )
    if os.environ.get("SPECTRAL_REQUIRED"):
        pytest.fail(reason)
    if shutil.which("node") is None:
        reason += "; node is not on PATH either"
    pytest.skip(reason)


def spectral_results(document: Path) -> list[dict]:
    """Spectral's findings for one document with the repository's ruleset (spectral:oas)."""
    spectral = _spectral_or_skip()
    completed = subprocess.run(
        [str(spectral), "lint", "--ruleset", str(RULESET), "--format", "json", "--quiet",
         "--fail-severity", "hint", str(document)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr  # 2: Spectral itself failed
    results = json.loads(completed.stdout or "[]")
    assert (completed.returncode == 0) == (results == []), completed.stdout
    return results


def _summary(results: list[dict]) -> list[str]:
    return [
        f"{['error', 'warning', 'info', 'hint'][r['severity']]} {r['code']} "
        f"{'.'.join(map(str, r['path']))}: {r['message']}"
        for r in results
    ]


def test_the_ruleset_is_spectral_oas():
    assert yaml.safe_load(RULESET.read_text(encoding="utf-8")) == {"extends": ["spectral:oas"]}


@pytest.mark.parametrize("name", ["openapi.bundled.yaml", "openapi.yaml"])
def test_spectral_finds_nothing_in_the_vendor_api(name):
    assert _summary(spectral_results(STANDARD_DIR / name)) == []


def test_spectral_finds_nothing_in_the_integrator_api(integrator_schema_file):
    assert _summary(spectral_results(integrator_schema_file)) == []


def test_spectral_reports_what_the_ruleset_forbids(tmp_path):
    """The linter really runs with the ruleset: a document without a contact, servers and an
    operation description gets exactly those warnings."""
    document = yaml.safe_load((STANDARD_DIR / "openapi.bundled.yaml").read_text(encoding="utf-8"))
    del document["info"]["contact"]
    del document["servers"]
    del document["paths"]["/mt/health"]["get"]["description"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    codes = {result["code"] for result in spectral_results(broken)}
    assert codes == {"info-contact", "oas3-api-servers", "operation-description"}
