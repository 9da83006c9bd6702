"""`python -m mfc_edge.cli`: the same as the `mfc-edge` command."""
import sys

from mfc_edge.cli import main

sys.exit(main())
