"""``%%gevent``: a cell under gevent in the kernel's main thread.

``runner`` runs the cell and builds its Run; ``patching`` makes the cell's
monkey patching last for the cell only; ``switches`` and ``spawned`` record
the greenlet switches and the greenlets the cell starts.
"""
