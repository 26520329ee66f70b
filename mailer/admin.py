"""Staff see what is waiting, what failed and why, and can send a message again."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mailer.models import OutgoingMail
from mailer.services import outgoing_mail_retry


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "state", "kind", "subject", "recipients", "attempts", "next_attempt_at", "sent_at"]  # fmt: skip
    list_filter = ["state", "kind"]
    search_fields = ["subject", "to", "message_id"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in OutgoingMail._meta.fields]
    fields = [
        "state", "kind", "from_email", "to", "subject", "message_id", "language", "attempts",
        "next_attempt_at", "give_up_at", "claimed_at", "sent_at", "last_error", "body_text",
        "body_html", "created_at", "updated_at",
    ]  # fmt: skip

    @admin.display(description=_("recipients"))
    def recipients(self, mail: OutgoingMail) -> str:
        return ", ".join(mail.to)

    @admin.action(description=_("Send the selected mail again now"))
    def send_again(self, request, queryset):
        count = outgoing_mail_retry(mail_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be sent again.",
                "%(count)d messages will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
