"""`python -m otel_apisec` runs the command line."""

import sys

from otel_apisec.cli.main import main

sys.exit(main())
