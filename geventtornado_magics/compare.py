"""One fetch workload, five ways, side by side: the essay's comparison as a measurement.

``%compare_models`` fetches the same URLs under each concurrency model in
turn, in the live kernel, and shows one report with the runs stacked on one
time axis:

* ``sequential``: a plain loop over ``urllib.request.urlopen``;
* ``threads``: the same call in a thread per URL (``ThreadPoolExecutor``);
* ``gevent``: a greenlet per URL, the standard library patched for the run;
* ``tornado``: ``AsyncHTTPClient`` coroutines gathered on the kernel's loop,
  with ``max_clients`` as large as the workload;
* ``asyncio``: the same on bare asyncio streams (Tornado runs on asyncio: this
  is what is underneath).

gevent, Tornado and asyncio go through the ``%%gevent`` and ``%%tornado``
runners, so their runs carry switches and callbacks like any cell's; the
sequential and threaded runs are timed with the same HTTP recorder. Each
workload's code is in ``CODE``, so the report can show exactly what ran.
"""

from __future__ import annotations

import threading
from time import perf_counter, process_time

from .gevent_cell.runner import run_gevent_cell
from .tornado_cell.reentry import run_until_complete
from .recorders.http_client import HttpClientRecorder
from .run import Comparison, Request, Run
from .scope import CellOptions, CellScope, Limits
from .tornado_cell.runner import run_tornado_cell

MODELS = ("sequential", "threads", "gevent", "tornado", "asyncio")

#: The code each cell-based model runs; ``URLS`` is the workload's list.
GEVENT_CODE = """\
def __gtm_compare():
    import gevent, urllib.request
    from gevent import monkey
    monkey.patch_all()
    def fetch(url):
        return len(urllib.request.urlopen(url).read())
    gevent.joinall([gevent.spawn(fetch, url) for url in URLS])
__gtm_compare()
del __gtm_compare
"""

TORNADO_CODE = """\
async def __gtm_compare():
    import asyncio
    from tornado.httpclient import AsyncHTTPClient
    client = AsyncHTTPClient(force_instance=True, max_clients=len(URLS))
    async def fetch(url):
        return len((await client.fetch(url)).body)
    try:
        await asyncio.gather(*(fetch(url) for url in URLS))
    finally:
        client.close()
await __gtm_compare()
del __gtm_compare
"""

ASYNCIO_CODE = """\
async def __gtm_compare():
    import asyncio, time
    from urllib.parse import urlsplit
    async def fetch(url):
        started = time.perf_counter()
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or (443 if secure else 80), ssl=secure)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.0\\r\\nHost: {parts.netloc}\\r\\n\\r\\n".encode())
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
        head, _, body = response.partition(b"\\r\\n\\r\\n")
        __gtm_requests.append((url, started, time.perf_counter(), int(head.split()[1]), len(body)))
    await asyncio.gather(*(fetch(url) for url in URLS))
await __gtm_compare()
del __gtm_compare
"""

SEQUENTIAL_CODE = """\
import urllib.request
for url in URLS:
    urllib.request.urlopen(url).read()
"""

THREADS_CODE = """\
import urllib.request
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(max_workers=len(URLS)) as pool:
    list(pool.map(lambda url: urllib.request.urlopen(url).read(), URLS))
"""

CODE = dict(zip(MODELS, (SEQUENTIAL_CODE, THREADS_CODE, GEVENT_CODE, TORNADO_CODE, ASYNCIO_CODE)))


def compare_models(shell, urls: list[str], title: str, models=MODELS, limits: Limits = Limits()) -> Comparison:
    """Fetch ``urls`` under each of ``models``, one after another, in ``shell``'s kernel."""
    baseline = "sequential" if "sequential" in models else None
    comparison = Comparison(title, baseline=baseline, code={model: CODE[model] for model in models})
    runners = {
        "sequential": lambda: _run_blocking("sequential", urls, limits),
        "threads": lambda: _run_blocking("threads", urls, limits),
        "gevent": lambda: _with_urls(shell, urls, lambda: run_gevent_cell(shell, GEVENT_CODE, CellOptions(limits=limits))),
        "tornado": lambda: _with_urls(shell, urls, lambda: _tornado(shell, TORNADO_CODE, limits)),
        "asyncio": lambda: _asyncio(shell, urls, limits),
    }
    for model in models:
        comparison.runs[model] = runners[model]()
    return comparison


def _run_blocking(model: str, urls: list[str], limits: Limits) -> Run:
    """Run a model's code in a namespace of its own, with every thread's requests recorded."""
    run = Run(model=model, source=CODE[model])
    code = compile(CODE[model], f"<{model}>", "exec")
    scope, cpu0 = CellScope(limits=limits), process_time()
    with HttpClientRecorder(scope, lambda: threading.current_thread().name) as http:
        try:
            exec(code, {"URLS": list(urls)})
        except Exception as exc:  # noqa: BLE001 - a failed workload is reported, not raised
            run.error = exc
    run.wall, run.cpu = scope.now(), process_time() - cpu0
    run.requests = [request for request, _ in http.fetched]
    for request, thread in http.fetched:
        request.task = "cell" if thread == threading.current_thread().name else thread
    return run


def _tornado(shell, code: str, limits: Limits) -> Run:
    return run_until_complete(run_tornado_cell(shell, code, CellOptions(limits=limits)))


def _with_urls(shell, urls: list[str], run_cell, **extra) -> Run:
    """Run a workload cell with ``URLS`` (and ``extra``) in the namespace, then put back what was there.

    The notebook may have its own ``URLS`` (``%compare_models --urls URLS``):
    it is the user's, and is left as it was.
    """
    names = {"URLS": list(urls), **extra}
    missing = object()
    saved = {name: shell.user_ns.get(name, missing) for name in names}
    shell.user_ns.update(names)
    try:
        return run_cell()
    finally:
        for name, value in saved.items():
            if value is missing:
                shell.user_ns.pop(name, None)
            else:
                shell.user_ns[name] = value


def _asyncio(shell, urls: list[str], limits: Limits) -> Run:
    """Bare asyncio has no HTTP client to hook: the workload records its own requests."""
    records: list[tuple] = []
    t0 = perf_counter()
    run = _with_urls(shell, urls, lambda: _tornado(shell, ASYNCIO_CODE, limits), __gtm_requests=records)
    run.requests = [
        Request(url, status=status, nbytes=nbytes, start=start - t0, end=end - t0, task="cell")
        for url, start, end, status, nbytes in records
    ]
    return run
