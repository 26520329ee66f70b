"""`manage.py validate_manifest PATH`: check a manifest.yaml against the standard v1.0.

Exit status: 0 and the single line `valid`; 1 and one line per error on stdout
(`<json-pointer>: <message> (line N)`, or a JSON list with `--json`); 2 and one line on stderr
when the file cannot be read. PATH `-` reads standard input.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from services.standard.manifest import validate_manifest_text


class Command(BaseCommand):
    help = "Validate a service manifest (YAML or JSON) against the manifest standard v1.0."
    # Checking a file needs neither the database nor the URLconf that system checks import.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="The manifest file, or - to read standard input.")
        parser.add_argument(
            "--lang",
            choices=("en", "ko"),
            default="en",
            help="Language of the error messages (default en).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print a JSON list of errors ([] when valid) instead of lines.",
        )

    def handle(self, *args, path: str, lang: str, as_json: bool, **options):
        raw = self._read(path)
        result = validate_manifest_text(raw)
        if as_json:
            self.stdout.write(
                json.dumps([error.as_dict() for error in result.errors], ensure_ascii=False)
            )
        elif result.is_valid:
            self.stdout.write("valid")
        else:
            for error in result.errors:
                self.stdout.write(error.format(lang=lang))
        if not result.is_valid:
            self.stdout.flush()
            raise SystemExit(1)

    def _read(self, path: str) -> bytes:
        try:
            if path == "-":
                stream = getattr(sys.stdin, "buffer", None)
                return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
            with open(path, "rb") as handle:
                return handle.read()
        except (OSError, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            shown = "standard input" if path == "-" else path
            raise CommandError(f"cannot read {shown}: {reason}", returncode=2) from None
