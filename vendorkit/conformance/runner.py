"""The conformance run: one tenant walked through its whole life, plus the refusals.

The order matters and is the market's own: health, the authentication refusals (sent to a
tenant the run activated for them, so a refusal that is wrongly accepted shows as a 2xx and
not as a 404), then tenant A is activated, repeated, conflicted, measured, changed,
deactivated, reactivated and deleted; tenant B is deactivated without its data; a few
malformed requests; finally every tenant the run created is cleaned up and the answers of the
whole run are judged together.

A check that cannot be judged because an earlier step failed is skipped with the reason, so a
single fault is reported once, by the check that owns it.

This module only decides the order: the state and helpers are ``context.RunContext``, the
checks are the ``checks_*`` modules, what a check is is ``catalogue``. The check modules
import the context and the catalogue, never this module.
"""

from __future__ import annotations

from vendorkit.conformance import (
    checks_health,
    checks_lifecycle,
    checks_lti,
    checks_optional,
    checks_whole_run,
)
from vendorkit.conformance.context import RunContext


def run_all(run: RunContext) -> bool:
    """Run every check; False when the vendor could not be reached at all."""
    if not checks_health.check_health(run):
        return False
    checks_health.check_authentication(run)
    if checks_lifecycle.check_activation(run):
        checks_optional.check_usage(run)
        checks_optional.check_update(run)
        if checks_lifecycle.check_deactivation(run):
            checks_lifecycle.check_reactivation(run)
        else:
            run.skip(["activate.reactivate"], "the tenant was not deactivated")
        checks_lifecycle.check_deactivate_validation(run)
    checks_lifecycle.check_drop_data(run)
    checks_lifecycle.check_unknown_tenant(run)
    checks_lifecycle.check_invalid_requests(run)
    if run.tenant_a in run.created:
        checks_optional.check_delete(run)
    checks_whole_run.check_cleanup(run)
    checks_whole_run.check_every_answer(run)
    checks_lti.check_lti(run)
    return True
