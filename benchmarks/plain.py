"""Run a workload as a plain script, no IPython, no magic: the baseline of every ratio.

    python -m benchmarks.plain gevent http://127.0.0.1:PORT/delay/0 1000

The script runs once at a small N to warm up (imports, gevent's hub and DNS
threads, the first patching), prints ``ready`` and waits for a line on stdin,
so the caller can sample the server's CPU time just around the measured run;
then it runs at the full N and prints the figures as one line of JSON. A
magic cell is measured warm in the same way (``kernel_cells``).
"""

from __future__ import annotations

import argparse
import json
import sys

from .probe import Probe, raise_open_file_limit
from .workloads import WORKLOADS

WARM_UP = 10


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plain", description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(WORKLOADS))
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    args = parser.parse_args(argv)

    raise_open_file_limit()
    code = compile(WORKLOADS[args.model].script, f"<plain {args.model} script>", "exec")
    namespace = {"__name__": "__main__", "URL": args.url, "N": WARM_UP}
    exec(code, namespace)
    print("ready", flush=True)
    sys.stdin.readline()

    namespace["N"] = args.n
    probe = Probe()
    probe.start()
    exec(code, namespace)
    figures = probe.stop()
    print(json.dumps({**figures, "ok": namespace["ok"]}), flush=True)


if __name__ == "__main__":
    main()
