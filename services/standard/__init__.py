"""The Service Market standard v1: the manifest, its schema and its messages.

Public entry points live in `services.standard.manifest` (`validate_manifest_text`,
`plans_from_manifest`, `ManifestResult`, `ManifestError`, `PlanSpec`).
"""
