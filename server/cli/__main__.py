"""``python -m server.cli``: the ``proxima`` command."""

import sys

from server.cli import main

sys.exit(main())
