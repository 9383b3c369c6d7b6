"""What the magics cost, measured against the same code run without them.

``python -m benchmarks.run`` measures everything and writes ``RESULTS.md``;
see that module for what is measured and how.
"""
