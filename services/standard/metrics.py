"""The standard usage metrics: the founding document's four, written once, in the manifest schema.

``usage_report.metrics`` defaults to them (docs/standard/schemas/manifest-1.0.schema.json); a
usage report must carry them unless the manifest declares its own list. The vendor kit keeps
its own copy, since it imports nothing from the market.
"""

from services.standard.manifest import MANIFEST_SCHEMA_FILE
from services.standard.schemas import load_schema

_USAGE_REPORT = load_schema(MANIFEST_SCHEMA_FILE)["properties"]["usage_report"]

STANDARD_USAGE_METRICS: tuple[str, ...] = tuple(_USAGE_REPORT["properties"]["metrics"]["default"])
