"""Building blocks every API view and input serializer of the market shares."""

from collections.abc import Mapping

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.viewsets import GenericViewSet

from market.api.permissions import HasMarketRole
from market.api.principal import Principal, principal_of


class ApiViewMixin:
    # No docstring on purpose: drf-spectacular would show it as every view's description.
    # Callers must be authenticated and have a role; messages are in English unless
    # Accept-Language asks for another language.

    permission_classes = [IsAuthenticated, HasMarketRole]

    def initial(self, request, *args, **kwargs):
        # The portal is Korean-first (LANGUAGE_CODE = ko); an integrator that states no
        # language gets English, the lingua franca of API clients.
        if not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        super().initial(request, *args, **kwargs)

    @property
    def principal(self) -> Principal:
        return principal_of(self.request)


ID_REGEX = r"[0-9]{1,18}"


class ReadOnlyApiViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    # No docstring on purpose (see ApiViewMixin). List and retrieve a scoped queryset by
    # numeric id, with django-filter filtering and ordering; subclasses set the rest.
    lookup_value_regex = ID_REGEX
    filter_backends = [DjangoFilterBackend, OrderingFilter]


class RejectUnknownFieldsMixin:
    """A write serializer that answers 400 for fields it does not know, instead of ignoring them."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {str(key): [_("Unknown field.")] for key in data if key not in writable}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """An input serializer (a command's body) that rejects unknown fields."""


class EmptyBodySerializer(StrictSerializer):
    """A command without input: `{}` or no body at all."""
