"""``python -m fastdse``: the ``fastdse`` command (:func:`fastdse.cli.main`), same exit code."""

import sys

from fastdse.cli import main

if __name__ == "__main__":
    sys.exit(main())
