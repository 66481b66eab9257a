"""The single source of fastdse's version number."""

__version__ = "0.1.0"
