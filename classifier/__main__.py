"""``python -m classifier train|evaluate|score``."""

import sys

from classifier.cli import main

sys.exit(main())
