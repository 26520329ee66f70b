"""The catalog's API problems that are not a raised `RegistrationError` as it is.

A `RegistrationError` raised out of a view is answered by `market.api.problems` from its own
status, type and title; these helpers build the same body where a view must decide more: a
manifest that is only validated, and a service id another vendor holds (409).
"""

from django.utils.translation import gettext as _

from market.api.exceptions import ProblemException
from market.api.problems import domain_problem
from services.services import RegistrationError
from services.standard.manifest import ManifestError


def manifest_invalid(errors: tuple[ManifestError, ...] | list[ManifestError]) -> ProblemException:
    """422 `manifest-invalid`: one item per error, with its Korean message and line."""
    return registration_problem(RegistrationError(_("The manifest has errors."), tuple(errors)))


def registration_problem(error: RegistrationError, *, conflict: bool = False) -> ProblemException:
    """The error's own problem, or 409 `service-id-taken` when another vendor holds the id."""
    if conflict and not error.errors:
        return ProblemException(
            status_code=409,
            slug="service-id-taken",
            title=_("The service cannot be registered"),
            detail=error.message,
            errors=[{"field": "/service/id", "message": error.message}],
        )
    return ProblemException(**domain_problem(error))
