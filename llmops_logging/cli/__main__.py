"""`python -m llmops_logging.cli`: the same as the `llmops-logs` console script."""

import sys

from . import main

sys.exit(main())
