"""Schools, subscriptions, tenants, operations and lifecycle events in the integrator API."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from market.api.base import StrictSerializer
from market.models import User
from services.api.selectors import catalog_services
from services.models import Plan
from tenants.display import Display, display_state, tenant_display_state
from tenants.models import LifecycleEvent, Operation, Organization, Subscription, Tenant

MAX_USERS_LIMIT = 1_000_000
MAX_STORAGE_GB = 1_000_000


# --- output -------------------------------------------------------------------------------------


class AdminSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["username", "email", "first_name", "last_name"]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(source="slug", help_text="Sent to vendors as tenant_id.")
    admins = AdminSerializer(many=True, read_only=True)

    class Meta:
        model = Organization
        fields = ["tenant_id", "name", "contact_email", "is_active", "admins", "created_at"]
        read_only_fields = fields


class TenantRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "tenant_id", "state", "access_url"]
        read_only_fields = fields


class DisplaySerializer(serializers.Serializer):
    """What a person is shown: computed in tenants.display, the same for pages and e-mails."""

    code = serializers.CharField(help_text="The same value as display_state.")
    label = serializers.CharField(help_text="display_state in the caller's language.")
    explanation = serializers.CharField(help_text="One localized sentence: what it means.")
    detail = serializers.CharField(
        help_text="The vendor's (or the market's) own message about a failure, quoted as is; "
        "empty when there is none."
    )
    next_step = serializers.CharField(help_text="What to do next, localized; may be empty.")
    can_retry = serializers.BooleanField(
        help_text="True when the school may ask for another activation attempt "
        "(POST /subscriptions/{id}/retry)."
    )


class _DisplayFields(serializers.Serializer):
    """`display_state` and `display` from one computation per object."""

    display_state = serializers.SerializerMethodField(
        help_text="The one state shown to people for this subscription and its tenant: "
        + ", ".join(Display.values)
        + ". Unlike status (the contract) and tenant.state (the vendor's side), a refused "
        "activation is 'failed'."
    )
    display = serializers.SerializerMethodField()

    def _display(self, obj):
        cached = getattr(obj, "_display_state", None)
        if cached is None:
            cached = self._compute_display(obj)
            obj._display_state = cached
        return cached

    @extend_schema_field(serializers.ChoiceField(choices=Display.choices))
    def get_display_state(self, obj) -> str:
        return self._display(obj).code

    @extend_schema_field(DisplaySerializer)
    def get_display(self, obj) -> dict:
        state = self._display(obj)
        return {
            "code": state.code,
            "label": state.label,
            "explanation": state.explanation,
            "detail": state.detail,
            "next_step": state.next_step,
            "can_retry": state.can_retry,
        }


class SubscriptionSerializer(_DisplayFields, serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug", help_text="School tenant id.")
    service = serializers.CharField(source="service.service_id")
    plan = serializers.CharField(source="plan.code")
    tenant = TenantRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "organization",
            "service",
            "plan",
            "status",
            "starts_on",
            "ends_on",
            "max_users",
            "storage_limit_gb",
            "admin_email",
            "admin_name",
            "tenant",
            "display_state",
            "display",
            "created_at",
            "ended_at",
        ]
        read_only_fields = fields

    def _compute_display(self, obj):
        return display_state(obj)


class TemporaryPasswordSerializer(serializers.Serializer):
    temp_password = serializers.CharField(
        help_text="The temporary admin password the vendor returned. The market erases it as it "
        "answers: this is the only time it can be read."
    )
    revealed_at = serializers.DateTimeField(help_text="When it was read (and erased).")
    access_url = serializers.CharField(help_text="Where to sign in with it.")


class TenantSerializer(_DisplayFields, serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug")
    service = serializers.CharField(source="service.service_id")
    last_status = serializers.JSONField(
        allow_null=True, help_text="The vendor's last answer to GET status."
    )

    class Meta:
        model = Tenant
        fields = [
            "id",
            "tenant_id",
            "organization",
            "service",
            "state",
            "state_changed_at",
            "attention_reason",
            "plan_code",
            "isolation",
            "access_url",
            "data_preserved",
            "reactivation_deadline",
            "purged_at",
            "last_status",
            "last_status_at",
            "drifted",
            "drift_reason",
            "display_state",
            "display",
            "created_at",
        ]
        read_only_fields = fields

    def _compute_display(self, obj):
        return tenant_display_state(obj)


class OperationSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(source="tenant.tenant_id", help_text="The vendor-side id.")
    service = serializers.CharField(source="tenant.service.service_id")
    organization = serializers.CharField(source="tenant.organization.slug")
    payload = serializers.JSONField(help_text="The body sent to the vendor.")

    class Meta:
        model = Operation
        fields = [
            "id",
            "kind",
            "state",
            "tenant",
            "tenant_id",
            "service",
            "organization",
            "subscription",
            "request_id",
            "payload",
            "attempts",
            "created_at",
            "next_attempt_at",
            "started_at",
            "polling_since",
            "first_failure_at",
            "finished_at",
            "last_status_code",
            "last_latency_ms",
            "last_error_kind",
            "last_error",
        ]
        read_only_fields = fields


class LifecycleEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    data = serializers.JSONField()

    class Meta:
        model = LifecycleEvent
        fields = [
            "id",
            "kind",
            "created_at",
            "actor",
            "message",
            "operation",
            "subscription",
            "data",
        ]
        read_only_fields = fields


class SubscriptionChangeSerializer(serializers.Serializer):
    """A subscription command's result: the subscription and the vendor call it queued, if any."""

    subscription = SubscriptionSerializer()
    operation = OperationSerializer(
        allow_null=True, help_text="Poll GET /api/v1/operations/{id} until it is finished."
    )


# --- input --------------------------------------------------------------------------------------


class SubscriptionCreateSerializer(StrictSerializer):
    organization = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The school's tenant id. Staff must give it; a school token may omit it.",
    )
    service = serializers.CharField(max_length=64, help_text="The service id.")
    plan = serializers.CharField(max_length=64, help_text="The plan code.")
    starts_on = serializers.DateField(required=False, help_text="Default: today.")
    ends_on = serializers.DateField()
    max_users = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_USERS_LIMIT, help_text="Default: the plan's."
    )
    storage_limit_gb = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_STORAGE_GB, help_text="Default: the plan's."
    )
    admin_email = serializers.EmailField(help_text="Who receives the service's admin account.")
    admin_name = serializers.CharField(max_length=200)

    def validate(self, attrs):
        """Resolve names to rows the caller may see; the lifecycle rules stay in the service."""
        principal = self.context["principal"]
        attrs["organization"] = self._organization(principal, attrs.get("organization"))
        service = catalog_services(principal).filter(service_id=attrs["service"]).first()
        if service is None:
            raise serializers.ValidationError({"service": _("Unknown service.")})
        plan = Plan.objects.filter(service=service, code=attrs["plan"]).first()
        if plan is None:
            codes = ", ".join(p.code for p in service.plans.all())
            raise serializers.ValidationError(
                {
                    "plan": _("Unknown plan for this service: choose one of %(codes)s.")
                    % {"codes": codes}
                }
            )
        attrs["service"], attrs["plan"] = service, plan
        for field, limit in (
            ("max_users", plan.max_users),
            ("storage_limit_gb", plan.storage_limit_gb),
        ):
            if attrs.get(field) is None:
                if limit is None:
                    raise serializers.ValidationError(
                        {field: _("The plan sets no limit: give this field.")}
                    )
                attrs[field] = limit
        return attrs

    @staticmethod
    def _organization(principal, slug: str | None) -> Organization:
        unknown = serializers.ValidationError({"organization": _("Unknown organization.")})
        if principal.is_staff:
            if not slug:
                raise serializers.ValidationError(
                    {"organization": _("Staff must name the school (its tenant id).")}
                )
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                raise unknown
            return organization
        organization = Organization.objects.get(pk=principal.organization_id)
        if slug and slug != organization.slug:
            raise unknown  # the same answer whether that school exists or not
        return organization


class SubscriptionRenewSerializer(StrictSerializer):
    ends_on = serializers.DateField(help_text="The new end date.")


class OffsetDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time that must carry its offset (``Z`` or ``+09:00``): no guessing."""

    def enforce_timezone(self, value):
        from django.utils import timezone

        if timezone.is_naive(value):
            raise serializers.ValidationError(
                _("Give the time with its offset, e.g. 2026-12-31T09:00:00+09:00 or ...T00:00:00Z.")
            )
        return super().enforce_timezone(value)


class TenantDeactivateSerializer(StrictSerializer):
    reason = serializers.ChoiceField(
        choices=["admin_request", "violation"],
        default="admin_request",
        help_text="Why staff deactivate the tenant; the vendor receives it.",
    )
    deactivate_at = OffsetDateTimeField(
        required=False,
        help_text=(
            "When the deactivation takes effect (RFC 3339 with an offset, whole seconds sent to "
            "the vendor). Leave it out for now; at most 366 days ahead, never in the past."
        ),
    )
    preserve_data = serializers.BooleanField(
        required=False, help_text="Default: the market policy's preserve-data-on-expiry."
    )


class TenantDeactivationSerializer(serializers.Serializer):
    """A deactivation request's result: the tenant and the vendor call queued for it, if any."""

    tenant = TenantSerializer()
    operation = OperationSerializer(
        allow_null=True,
        help_text="The deactivate call, due at deactivate_at; poll GET /api/v1/operations/{id}.",
    )


class SubscriptionChangePlanSerializer(StrictSerializer):
    plan = serializers.CharField(max_length=64, help_text="The new plan's code.")
