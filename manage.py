#!/usr/bin/env python
"""Django's command-line utility for the Service Market."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")
    from django.core.management import execute_from_command_line

    from market.lib.env import run_with_clear_env_errors

    run_with_clear_env_errors(lambda: execute_from_command_line(sys.argv))


if __name__ == "__main__":
    main()
