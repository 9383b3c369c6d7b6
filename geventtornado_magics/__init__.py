"""IPython magics that run a cell under gevent or Tornado and show what happened."""

__version__ = "0.1.0"
