"""Forms of the school portal: they parse input; the lifecycle services decide what is allowed."""

import datetime
import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from services.models import Plan
from tenants.errors import LifecycleError
from tenants.operations.subscription_input import subscription_input_errors


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class LifecycleForm(forms.Form):
    """A form that can show a LifecycleError next to the field it names (else above the form)."""

    def add_lifecycle_error(self, error: LifecycleError) -> None:
        """Every problem the error carries, each next to its field (all shown at once)."""
        for name, message in getattr(error, "errors", [(error.field, error.message)]):
            self.add_error(name if name in self.fields else None, message)


def plan_label(plan: Plan) -> str:
    return f"{plan.name} ({plan.code})"


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Plan) -> str:
        return plan_label(obj)


class SubscribeForm(LifecycleForm):
    """Everything `subscription_create` needs; limits are checked against the plan there."""

    plan = PlanChoiceField(
        label=_("Plan"), queryset=Plan.objects.none(), to_field_name="code", empty_label=None
    )
    ends_on = forms.DateField(
        label=_("End date"),
        widget=DateInput(),
        help_text=_("The service is deactivated on this date unless you renew."),
    )
    max_users = forms.IntegerField(label=_("Max users"), min_value=1)
    storage_limit_gb = forms.IntegerField(label=_("Storage (GB)"), min_value=1)
    admin_email = forms.EmailField(
        label=_("Service admin e-mail"),
        help_text=_("The vendor creates the service's first admin account with this address."),
    )
    admin_name = forms.CharField(label=_("Service admin name"), max_length=200)
    # A fresh key per rendered form: a double click or a resubmitted POST creates one subscription.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        plans = service.plans.filter(is_active=True).order_by("position", "code")
        self.fields["plan"].queryset = plans
        limits = []
        for plan in plans:
            users = plan.max_users if plan.max_users is not None else "∞"
            storage = plan.storage_limit_gb if plan.storage_limit_gb is not None else "∞"
            limits.append(f"{plan.name}: {users} / {storage} GB")
        self.fields["max_users"].help_text = _("Plan limits (users / storage): %(limits)s") % {
            "limits": ", ".join(limits)
        }
        self.fields["admin_email"].widget.attrs["autocomplete"] = "email"
        self.fields["admin_name"].widget.attrs["autocomplete"] = "name"

    def clean(self):
        """The subscription rules too, on the fields that parsed: every problem in one submit."""
        data = super().clean()
        today = timezone.localdate()
        for field, message in subscription_input_errors(
            service=self.service,
            plan=data.get("plan"),
            starts_on=today,
            ends_on=data.get("ends_on"),
            max_users=data.get("max_users"),
            storage_limit_gb=data.get("storage_limit_gb"),
            today=today,
        ):
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
            elif field not in self.fields:
                self.add_error(None, message)
        return data

    @classmethod
    def initial_for(cls, *, service, user, plan_code: str = "") -> dict:
        plans = list(service.plans.filter(is_active=True).order_by("position", "code"))
        chosen = next((p for p in plans if p.code == plan_code), plans[0] if plans else None)
        return {
            "plan": chosen.code if chosen else None,
            "ends_on": timezone.localdate() + datetime.timedelta(days=365),
            "max_users": (chosen.max_users if chosen and chosen.max_users else 100),
            "storage_limit_gb": (
                chosen.storage_limit_gb if chosen and chosen.storage_limit_gb else 10
            ),
            "admin_email": user.email,
            "admin_name": user.get_full_name() or user.get_username(),
            "idempotency_key": uuid.uuid4().hex,
        }


class RenewForm(LifecycleForm):
    ends_on = forms.DateField(label=_("New end date"), widget=DateInput())


class ChangePlanForm(LifecycleForm):
    plan = PlanChoiceField(
        label=_("New plan"), queryset=Plan.objects.none(), to_field_name="code", empty_label=None
    )

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(pk__in=[p.pk for p in plans]).order_by(
            "position", "code"
        )


class InviteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["email"].widget.attrs["autocomplete"] = "off"
