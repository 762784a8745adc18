"""`python -m models`: the `models` command."""

import sys

from ._cli import main

sys.exit(main())
