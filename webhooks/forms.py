"""Portal forms of webhooks: thin, the rules live in webhooks.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from events.labels import type_label
from webhooks.services import SUBSCRIBABLE


def _type_choices():
    return [("*", _("All events"))] + [
        (name, f"{type_label(name)} ({name})") for name in SUBSCRIBABLE
    ]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("An https:// address that answers 2xx within 10 seconds."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), choices=_type_choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class TestEventForm(forms.Form):
    message = forms.CharField(
        label=_("Message"), max_length=500, required=False, initial="Hello from the Service Market"
    )


class ActivityFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False)
    organization = forms.CharField(label=_("School"), required=False)
    service = forms.CharField(label=_("Service"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from events.registry import EVENT_TYPES

        self.fields["type"].choices = [("", _("All types"))] + [
            (name, type_label(name)) for name in EVENT_TYPES
        ]
