"""The LTI 1.3 vocabulary the market speaks: claim names, message types and the role mapping.

Role mapping (LTI 1.3 Core, appendix A.2): the people who open a service from the market are a
school's administrators (``User.Role.SCHOOL``). They get the institution role
``institution/person#Administrator`` and, because the launch context is the school itself, the
context role ``membership#Administrator``. Market staff never launch (the launch page is for
school administrators only); if they did they would be ``system/person#Administrator``.
Teachers and students are not market users yet; when they are, they map to
``membership#Instructor`` and ``membership#Learner``.
"""

from market.models import User

LTI_VERSION = "1.3.0"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
DEPLOYMENT_ID = CLAIM + "deployment_id"
TARGET_LINK_URI = CLAIM + "target_link_uri"
RESOURCE_LINK = CLAIM + "resource_link"
ROLES = CLAIM + "roles"
CONTEXT = CLAIM + "context"
TOOL_PLATFORM = CLAIM + "tool_platform"
LAUNCH_PRESENTATION = CLAIM + "launch_presentation"
CUSTOM = CLAIM + "custom"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTITUTION_ADMINISTRATOR = LIS + "institution/person#Administrator"
CONTEXT_ADMINISTRATOR = LIS + "membership#Administrator"
SYSTEM_ADMINISTRATOR = LIS + "system/person#Administrator"
CONTEXT_TYPE_GROUP = LIS + "course#Group"

ROLE_MAP: dict[str, list[str]] = {
    User.Role.SCHOOL: [INSTITUTION_ADMINISTRATOR, CONTEXT_ADMINISTRATOR],
    User.Role.STAFF: [SYSTEM_ADMINISTRATOR],
}

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"


def lis_roles(user: User) -> list[str]:
    """The LIS role URIs of a market user (an empty list for roles that never launch)."""
    return list(ROLE_MAP.get(user.role, []))
