"""`python -m shopsync.cli ...`: the same as the `shopsync` console script."""

import sys

from shopsync.cli import main

sys.exit(main())
