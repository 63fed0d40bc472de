"""skyplan: an infrastructure compiler for sky computing."""

__version__ = "0.1.0"
