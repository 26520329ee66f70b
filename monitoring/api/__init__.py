"""The integrator API v1 resources of the monitoring app."""
