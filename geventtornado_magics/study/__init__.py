"""Studying a run after its report: ``--predict``'s questions, and ``--replay``, one step at a time.

``predict`` asks questions generated from the run before its report is
opened; ``replay`` rebuilds the run as scheduler steps (``Run.replay()``);
``player`` is the ipywidgets player over those steps. What they draw is in
``render.predict`` and ``render.replay``.
"""
