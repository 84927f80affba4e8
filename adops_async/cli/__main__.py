"""``python -m adops_async.cli`` is the ``adops`` command."""

import sys

from . import main

sys.exit(main())
