import sys

from vendorkit.conformance.cli import main

sys.exit(main())
