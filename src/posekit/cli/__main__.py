"""``python -m posekit.cli <verb> ...`` = ``posekit <verb> ...``."""

import sys

from posekit.cli.main import main

sys.exit(main())
