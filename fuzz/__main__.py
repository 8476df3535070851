"""`python -m fuzz [TARGET ...] [--seconds N]`: see fuzz.runner."""

import sys

from fuzz.runner import main

sys.exit(main())
