"""``%%tornado``: a cell on the kernel's own asyncio loop, the Tornado way.

``transformer`` turns the cell into an awaited call; ``runner`` runs it and
builds its Run; ``work`` tells the cell's work on the loop from the kernel's;
``portal`` lets the cell's synchronous code wait on the loop; ``reentry``
runs the cell from a plain cell's synchronous ``run_cell_magic``;
``script_style`` makes ``IOLoop.start()``, ``run_sync`` and
``fetch(url, callback)`` work, and ``sync_client`` the synchronous
``HTTPClient``; ``serial`` is ``--compare``'s second run;
``callbacks``, ``tasks`` and ``http`` record what the loop ran, the tasks
started and the requests fetched.
"""
