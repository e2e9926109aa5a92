"""``python -m ipcbench``: the same as the ``ipcbench`` command."""

import sys

from ipcbench.cli import main

sys.exit(main())
