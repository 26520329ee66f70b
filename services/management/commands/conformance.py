"""`manage.py conformance`: run the conformance kit and print its report.

    manage.py conformance SERVICE_ID          a registered service, with its current credentials;
                                              the run and its report are stored (ConformanceRun)
    manage.py conformance --base-url URL --api-key KEY --signing-secret SECRET [--manifest PATH]
                                              any vendor, nothing stored

Same options, output and exit status as `python -m vendorkit.conformance`: 0 when every required
check passes (recommended failures print as warnings), 1 when a required one fails, 2 when the
run cannot be made (the vendor cannot be reached, or the run cannot start). `--junit-xml PATH`
also writes the report as JUnit XML.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from services.conformance import conformance_run, run_against_url, stored_report
from services.models import Service
from vendorkit.conformance import ManifestLoadError, Report, format_text
from vendorkit.conformance.cli import add_arguments
from vendorkit.conformance.junit import write_junit_xml
from vendorkit.conformance.report import EXIT_COULD_NOT_RUN


class Command(BaseCommand):
    help = "Check a vendor service against the standard with the conformance kit."

    def add_arguments(self, parser):
        parser.add_argument(
            "service",
            nargs="?",
            help="The service id (manifest service.id) of a registered service.",
        )
        add_arguments(parser)

    def handle(self, *args, service=None, **options):
        if service and options["base_url"]:
            raise CommandError("give either a service id or --base-url, not both")
        if service:
            self._registered(service, options)
        else:
            self._explicit(options)

    def _registered(self, service_id: str, options) -> None:
        service = Service.objects.filter(service_id=service_id).first()
        if service is None and service_id.isdigit():
            service = Service.objects.filter(pk=int(service_id)).first()
        if service is None:
            raise CommandError(f"no registered service {service_id!r}")
        run = conformance_run(service=service, tenant_prefix=options["tenant_prefix"])
        report = stored_report(run)
        if report is None:
            self.stderr.write(f"conformance run {run.pk} could not run: {run.report['error']}")
            raise SystemExit(EXIT_COULD_NOT_RUN)
        self._print(report, options)
        if not options["json"]:
            self.stdout.write(f"stored as conformance run {run.pk} ({run.result})")
        self._exit(report, options)

    def _explicit(self, options) -> None:
        if not options["signing_secret"]:
            raise CommandError(
                "give a service id, or --base-url (or --manifest), --api-key (or the oauth2 or "
                "jwt options) and --signing-secret"
            )
        if not options["base_url"] and not options["manifest"]:
            raise CommandError("--base-url (or a --manifest with endpoints.base_url) is needed")
        try:
            report = run_against_url(
                base_url=options["base_url"],
                api_key=options["api_key"] or "",
                signing_secret=options["signing_secret"],
                manifest=options["manifest"],
                tenant_prefix=options["tenant_prefix"],
                timeout=options["timeout"],
                oauth_client_secret=options["oauth_client_secret"] or "",
                oauth_client_id=options["oauth_client_id"],
                token_url=options["token_url"],
                bearer_token=options["bearer_token"] or "",
            )
        except ManifestLoadError as exc:
            self.stderr.write(f"error: {exc}")
            raise SystemExit(EXIT_COULD_NOT_RUN) from exc
        self._print(report, options)
        self._exit(report, options)

    def _print(self, report: Report, options) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(format_text(report))
        self.stdout.flush()
        if options["junit_xml"]:
            try:
                write_junit_xml(report, options["junit_xml"], strict=options["strict"])
            except OSError as exc:
                raise CommandError(f"cannot write {options['junit_xml']}: {exc}") from exc

    @staticmethod
    def _exit(report: Report, options) -> None:
        code = report.exit_code_for(strict=options["strict"])
        if code:
            raise SystemExit(code)
