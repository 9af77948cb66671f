"""The shipped configs, one `get_config()` per file: `jaxgan train --config=NAME` runs DIR/NAME.py."""

import os

DIR = os.path.dirname(os.path.abspath(__file__))
