"""The ``fastdse`` command line: ``dse``, ``dsmi``, ``demo``, ``bench`` and ``plot``.

It sits on top of the library: it imports :mod:`fastdse`, and nothing in the
library imports it. :mod:`~fastdse.cli.commands` holds the subcommands and
:func:`main`, :mod:`~fastdse.cli.options` the options and output helpers they
share, :mod:`~fastdse.cli.io` the file readers, :mod:`~fastdse.cli.plot` and
:mod:`~fastdse.cli.bench` the ``plot`` and ``bench`` subcommands.
"""

from fastdse.cli.commands import main

__all__ = ["main"]
