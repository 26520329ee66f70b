"""Send a webhook.test event to one endpoint and wait for its answer.

python manage.py send_test_webhook 3
python manage.py send_test_webhook 3 --message "hello LMS" --queue   # leave it to a worker
"""

from django.core.management.base import BaseCommand, CommandError

from webhooks.dispatch import delivery_send
from webhooks.models import Delivery, Endpoint
from webhooks.services import WebhookError, endpoint_send_test


class Command(BaseCommand):
    help = "Send a webhook.test event to one endpoint (by id) and print the attempt."

    def add_arguments(self, parser):
        parser.add_argument("endpoint_id", type=int)
        parser.add_argument("--message", default="", help="Put into data.message.")
        parser.add_argument(
            "--queue", action="store_true", help="Hand it to a worker instead of sending now."
        )

    def handle(self, *args, endpoint_id, message, queue, **options):
        endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None:
            raise CommandError(
                f"There is no webhook endpoint {endpoint_id}; the admin lists them under Webhooks."
            )
        try:
            delivery = endpoint_send_test(
                endpoint=endpoint, message=message, actor="send_test_webhook"
            )
        except WebhookError as error:
            raise CommandError(error.message) from None
        if queue:
            self.stdout.write(f"Queued {delivery.message_id} for {endpoint.url}")
            return
        outcome = delivery_send(delivery_id=delivery.pk, manual=True)
        attempt = Delivery.objects.get(pk=delivery.pk).attempt_log.order_by("-number").first()
        status = attempt.status_code if attempt else None
        self.stdout.write(
            f"{outcome}: {delivery.message_id} → {endpoint.url} "
            f"(HTTP {status or '-'}, {attempt.latency_ms if attempt else 0} ms)"
            + (f" {attempt.error}" if attempt and attempt.error else "")
        )
        if outcome != "delivered":
            raise CommandError("The endpoint did not accept the test event; see the line above.")
