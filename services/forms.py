"""Forms of the vendor portal: sign-up and manifest submission."""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from market.models import User
from services.standard.manifest import MAX_MANIFEST_BYTES


class VendorSignupForm(forms.Form):
    name = forms.CharField(
        label=_("Organization name"),
        max_length=200,
        help_text=_("Your company or lab, as schools will see it."),
    )
    contact_email = forms.EmailField(
        label=_("Contact e-mail"),
        help_text=_("Where the market sends health alerts and notices."),
    )
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "organization"
        self.fields["contact_email"].widget.attrs["autocomplete"] = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "username"

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This user name is taken: choose another."))
        return username

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ: type the same one twice."))
        elif password1:
            candidate = User(
                username=cleaned.get("username", ""), email=cleaned.get("contact_email", "")
            )
            try:
                password_validation.validate_password(password1, user=candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ManifestForm(forms.Form):
    """A manifest pasted into the text area or uploaded as a file (the file wins when both)."""

    manifest = forms.CharField(
        label=_("Manifest (YAML)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=_("Paste manifest.yaml here, or upload the file below."),
    )
    manifest_file = forms.FileField(
        label=_("Or upload manifest.yaml"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,.json,text/yaml"}),
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("manifest_file")
        if upload:
            raw = upload.read(MAX_MANIFEST_BYTES + 1)
            if len(raw) > MAX_MANIFEST_BYTES:
                self.add_error(
                    "manifest_file",
                    _("The file is larger than %(limit)s KiB: shorten it.")
                    % {"limit": MAX_MANIFEST_BYTES // 1024},
                )
                return cleaned
            try:
                cleaned["text"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("manifest_file", _("The file is not UTF-8 text: save it as UTF-8."))
                return cleaned
            # Show the uploaded text in the text area, so errors point at visible lines.
            self.data = self.data.copy()
            self.data["manifest"] = cleaned["text"]
        elif cleaned.get("manifest", "").strip():
            cleaned["text"] = cleaned["manifest"]
        else:
            self.add_error("manifest", _("Paste the manifest or choose a file."))
        return cleaned
