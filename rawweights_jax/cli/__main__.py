"""`python -m rawweights_jax.cli`: the `rawweights` command without the installed script."""

import sys

from rawweights_jax.cli.main import main

sys.exit(main())
