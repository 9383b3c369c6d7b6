"""The run's records as pandas DataFrames: every row, where the report shows a bounded few.

pandas is optional (``pip install geventtornado_magics[dataframe]``); it is
imported only when a DataFrame is asked for. Columns are the record's fields,
plus ``duration`` and ``ok`` for requests.
"""

from __future__ import annotations

from dataclasses import fields

from ..run import Event, Request, Run, Task

_RECORDS = {"requests": Request, "tasks": Task, "events": Event}


def to_dataframe(run: Run, records: str = "requests"):
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "Run.to_dataframe() needs pandas: pip install 'geventtornado_magics[dataframe]'"
        ) from error
    if records not in _RECORDS:
        raise ValueError(f"records must be one of {', '.join(_RECORDS)}, not {records!r}")
    items = getattr(run, records)
    # Column by column, not one dict per row: a million events stay quick.
    columns = {f.name: [getattr(item, f.name) for item in items] for f in fields(_RECORDS[records])}
    if records == "requests":
        columns["duration"] = [r.duration for r in items]
        columns["ok"] = [r.ok for r in items]
    return pd.DataFrame(columns)
