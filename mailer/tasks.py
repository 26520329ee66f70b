"""Celery tasks of the outbox: thin wrappers over mailer.services.

Beat entry (``market/schedule.py``): ``mailer.send_due_mail`` every minute, the safety net
for messages whose task was lost (broker flushed, web process died after commit) and for
retries after a mail server outage.
"""

from celery import shared_task

from mailer import services


@shared_task(name="mailer.send_outgoing_mail", ignore_result=True)
def send_outgoing_mail(mail_id: int) -> int:
    return services.outgoing_mail_send(mail_id=mail_id).sent


@shared_task(name="mailer.send_due_mail", ignore_result=True)
def send_due_mail() -> int:
    return services.outgoing_mail_send_due().sent
