"""``python -m norse_bridge --model M [--n N] [--seed S] [--protocols ...]``."""

import sys

from norse_bridge.cli import main

sys.exit(main())
