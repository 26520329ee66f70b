"""Password reset through the outbox, with a done page that says what really happened.

Django's form sends the e-mail in the request and takes the link's host from the request;
this one queues it (multipart, the market's name in the subject, a link on MARKET_BASE_URL)
and the done page says so when the mail server is not accepting mail at the moment. The page
never tells whether an address has an account: the warning is about the mail server.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.db import DatabaseError
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from mailer.selectors import mail_delivery_delayed
from mailer.services import MailError, mail_queue, market_name


class QueuedPasswordResetForm(PasswordResetForm):
    """Writes the reset e-mail to the outbox instead of talking to the mail server."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        base = urlsplit(str(settings.MARKET_BASE_URL))
        context = {
            **context,
            "protocol": base.scheme,
            "domain": base.netloc,
            "site_name": market_name(),
        }
        subject = render_to_string(subject_template_name, context)
        body_text = render_to_string(email_template_name, context)
        body_html = (
            render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        mail_queue(
            kind="password_reset",
            to=[to_email],
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            from_email=from_email,
        )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except (MailError, DatabaseError):
            form.add_error(
                None,
                _("The e-mail could not be queued. Nothing was sent; please try again shortly."),
            )
            return self.form_invalid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "mail_delayed": mail_delivery_delayed()}
