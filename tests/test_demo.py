"""Tests for the demo server: its endpoints and bounds, and its life as a child process.

Everything talks to 127.0.0.1 only.  Some process tests read /proc, so they
need Linux.
"""

import asyncio
import http.client
import os
import re
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from geventtornado_magics.demo import MAX_BYTES, DemoServer, server_url, stop_server
from geventtornado_magics.demo.app import body_bytes


@pytest.fixture(scope="module")
def server():
    demo = DemoServer()
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture(scope="module")
def base(server):
    return server.url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    """GET ``url`` without following redirects; return status, headers and body, whatever the status."""
    try:
        with _opener.open(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def timed_fetch(url: str) -> tuple[float, int, bytes]:
    started = time.monotonic()
    status, _, body = fetch(url)
    return time.monotonic() - started, status, body


def process_exited(pid: int) -> bool:
    """Whether ``pid`` is gone or a zombie (an orphan's zombie may linger if PID 1 does not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    # The command name, in parentheses, may contain spaces: the state follows its last ")".
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def wait_until_exited(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not process_exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def child_pids(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


# --- endpoints ---------------------------------------------------------------


def test_index_lists_every_endpoint(base):
    status, headers, body = fetch(base + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    for example in ["/delay/0.5", "/bytes/1024", "/status/418", "/drip?bytes=100", "/links/10/0"]:
        assert f'href="{example}' in body.decode()


def test_delay_waits_then_answers(base):
    elapsed, status, body = timed_fetch(base + "/delay/0.3")
    assert status == 200
    assert body == b"delayed 0.3 s\n"
    assert elapsed >= 0.3


@pytest.mark.parametrize("size", [0, 1, 64, 65, 200_000, MAX_BYTES])
def test_bytes_sends_exactly_n_deterministic_bytes(base, size):
    status, headers, body = fetch(f"{base}/bytes/{size}")
    assert status == 200
    assert headers["Content-Length"] == str(size)
    assert body == body_bytes(0, size)


def test_body_is_repeated_printable_lines():
    assert body_bytes(0, 130) == body_bytes(0, 64) * 2 + b"01"
    assert body_bytes(62, 4) == b".\n01"
    assert re.fullmatch(rb"[0-9A-Za-z.\n]*", body_bytes(0, 1000))


def test_bytes_delay(base):
    elapsed, status, body = timed_fetch(f"{base}/bytes/10?delay=0.2")
    assert (status, body) == (200, body_bytes(0, 10))
    assert elapsed >= 0.2


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (200, "OK"),
        (201, "Created"),
        (404, "Not Found"),
        (418, "I'm a Teapot"),
        (500, "Internal Server Error"),
        (503, "Service Unavailable"),
        (599, "Unknown"),
    ],
)
def test_status_answers_with_the_code(base, code, reason):
    status, headers, body = fetch(f"{base}/status/{code}")
    assert status == code
    assert body == f"{code} {reason}\n".encode()


def test_status_204_has_no_body(base):
    status, _, body = fetch(base + "/status/204")
    assert (status, body) == (204, b"")


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_status_redirects_to_the_index(base, code):
    status, headers, _ = fetch(f"{base}/status/{code}")
    assert status == code
    assert headers["Location"] == "/"


def test_status_delay(base):
    elapsed, status, _ = timed_fetch(f"{base}/status/503?delay=0.2")
    assert status == 503
    assert elapsed >= 0.2


def test_drip_sends_chunks_spread_over_the_duration(base):
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=5)
    started = time.monotonic()
    connection.request("GET", "/drip?bytes=50&chunks=5&duration=2.5")
    response = connection.getresponse()
    headers_after = time.monotonic() - started
    arrivals, body = [], b""
    while chunk := response.read1(1000):
        arrivals.append(time.monotonic() - started)
        body += chunk
    connection.close()

    assert response.status == 200
    assert body == body_bytes(0, 50)
    assert headers_after < 0.4  # the headers come at once; only the body drips, a chunk every 0.5 s
    assert len(arrivals) >= 4  # separate reads, allowing two chunks to coalesce
    assert arrivals[0] >= 0.45  # the first chunk comes after duration / chunks
    assert 2.45 <= arrivals[-1] < 5


def test_drip_defaults_to_100_bytes(base):
    status, headers, body = fetch(base + "/drip?duration=0")
    assert (status, body) == (200, body_bytes(0, 100))


def test_links_site_is_reachable_from_page_0(base):
    seen, frontier = set(), ["/links/50/0"]
    while frontier:
        path = frontier.pop()
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = fetch(base + path)
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        frontier += re.findall(r'href="([^"]+)"', body.decode())
    assert seen == {f"/links/50/{page}" for page in range(50)}


def test_links_page_is_deterministic(base):
    status, _, body = fetch(base + "/links/10/3")
    assert status == 200
    assert re.findall(r'href="([^"]+)"', body.decode()) == ["/links/10/7", "/links/10/8"]
    assert fetch(base + "/links/10/3")[2] == body


def test_links_without_page_redirects_to_page_0(base):
    status, headers, _ = fetch(base + "/links/7")
    assert (status, headers["Location"]) == (302, "/links/7/0")


def test_links_delay_slows_the_page_and_is_carried_into_its_links(base):
    elapsed, status, body = timed_fetch(base + "/links/10/0?delay=0.2")
    assert status == 200
    assert elapsed >= 0.2
    assert re.findall(r'href="([^"]+)"', body.decode()) == ["/links/10/1?delay=0.2", "/links/10/2?delay=0.2"]


@pytest.mark.parametrize(
    ("path", "status", "allowed"),
    [
        ("/delay/31", 400, "0 to 30"),
        ("/delay/-1", 400, "0 to 30"),
        ("/delay/nan", 400, "0 to 30"),
        ("/delay/soon", 400, "0 to 30"),
        ("/bytes/10000001", 400, "0 to 10000000"),
        ("/bytes/-1", 400, "0 to 10000000"),
        ("/bytes/1e3", 400, "0 to 10000000"),
        ("/bytes/10?delay=31", 400, "0 to 30"),
        ("/status/100", 400, "200 to 599"),
        ("/status/600", 400, "200 to 599"),
        ("/status/teapot", 400, "200 to 599"),
        ("/status/200?delay=inf", 400, "0 to 30"),
        ("/drip?bytes=1000001", 400, "0 to 1000000"),
        ("/drip?chunks=0", 400, "1 to 1000"),
        ("/drip?chunks=1001", 400, "1 to 1000"),
        ("/drip?duration=31", 400, "0 to 30"),
        ("/drip?bytes=many", 400, "0 to 1000000"),
        ("/links/0/0", 400, "1 to 1000"),
        ("/links/1001", 400, "1 to 1000"),
        ("/links/10/0?delay=31", 400, "0 to 30"),
        ("/links/10/10", 404, "0 to 9"),
        ("/links/10/-1", 404, "0 to 9"),
    ],
)
def test_out_of_bounds_is_rejected_at_once_with_the_allowed_range(base, path, status, allowed):
    started = time.monotonic()
    got_status, headers, body = fetch(base + path)
    assert time.monotonic() - started < 5, "refused, not delayed for 30 s"
    assert got_status == status
    assert headers["Content-Type"].startswith("text/plain")
    message = body.decode()
    assert allowed in message
    assert message.count("\n") == 1 and message.endswith("\n")


def test_unknown_path_is_404(base):
    assert fetch(base + "/nothing/here")[0] == 404


# --- concurrency -------------------------------------------------------------


def test_three_delays_overlap(base):
    results = []
    threads = [threading.Thread(target=lambda: results.append(fetch(f"{base}/delay/0.5")[0])) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 3
    assert time.monotonic() - started < 1.5  # one after another would take 1.5 s


async def _raw_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response


def test_two_thousand_concurrent_delays(base):
    """A load test: 2,000 connections wait on /delay/0.5 at the same time."""
    connections = 2000
    # The client end of each connection is a file descriptor in this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 100), hard))
    port = urllib.parse.urlsplit(base).port

    async def fetch_all():
        requests = [_raw_get(port, "/delay/0.5") for _ in range(connections)]
        return await asyncio.wait_for(asyncio.gather(*requests), timeout=60)

    started = time.monotonic()
    responses = asyncio.run(fetch_all())
    elapsed = time.monotonic() - started
    assert all(r.startswith(b"HTTP/1.1 200 ") and r.endswith(b"\r\n\r\ndelayed 0.5 s\n") for r in responses)
    assert elapsed < 30  # one after another they would take 1,000 s


# --- the child process -------------------------------------------------------


def test_start_when_running_returns_the_same_server(server):
    pid, url = server.pid, server.url
    assert server.start() == url
    assert server.pid == pid


def test_two_servers_get_different_ports_and_both_work(server):
    other = DemoServer()
    try:
        other_url = other.start()
        assert urllib.parse.urlsplit(other_url).port != urllib.parse.urlsplit(server.url).port
        assert other.pid != server.pid
        assert fetch(other_url + "/status/200")[0] == 200
        assert fetch(server.url + "/status/200")[0] == 200
    finally:
        other.stop()


def test_stop_leaves_no_process_and_is_idempotent():
    demo = DemoServer()
    demo.start()
    pid = demo.pid
    demo.stop()
    with pytest.raises(ProcessLookupError):  # exited and reaped: not even a zombie
        os.kill(pid, 0)
    assert (demo.running, demo.url, demo.pid) == (False, None, None)
    demo.stop()
    assert not demo.running


def test_start_after_the_child_was_killed_starts_a_new_one():
    demo = DemoServer()
    try:
        demo.start()
        killed = demo.pid
        os.kill(killed, signal.SIGKILL)
        assert wait_until_exited(killed, timeout=5)
        assert not demo.running
        url = demo.start()
        assert demo.pid != killed
        assert fetch(url + "/delay/0")[2] == b"delayed 0 s\n"
    finally:
        demo.stop()


def test_non_loopback_host_is_refused():
    with pytest.raises(RuntimeError, match="loopback"):
        DemoServer(host="0.0.0.0").start()


def test_server_url_starts_one_server_for_all_threads():
    urls = []
    threads = [threading.Thread(target=lambda: urls.append(server_url())) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(urls)) == 1 and len(urls) == 8
        assert fetch(urls[0] + "/status/200")[0] == 200
    finally:
        stop_server()
    assert fetch(server_url() + "/status/200")[0] == 200  # a stopped default server starts again
    stop_server()


def _run_python(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_server_exits_when_its_parent_is_killed():
    parent = _run_python(
        "-c",
        "import time\n"
        "from geventtornado_magics.demo import server_url\n"
        "print(server_url(), flush=True)\n"
        "time.sleep(60)\n",
    )
    try:
        url = parent.stdout.readline().strip()
        assert url, parent.stderr.read()
        [demo_pid] = child_pids(parent.pid)
        assert fetch(url + "/status/200")[0] == 200
    finally:
        parent.kill()
        parent.wait()
    assert wait_until_exited(demo_pid, timeout=3)


_PATCH = "from gevent import monkey; monkey.patch_all()\n"
_IMPORT = "from geventtornado_magics.demo import server_url, stop_server\n"


@pytest.mark.parametrize("prelude", [_PATCH + _IMPORT, _IMPORT + _PATCH], ids=["patch-then-import", "import-then-patch"])
def test_works_from_a_monkey_patched_process(prelude):
    script = prelude + textwrap.dedent(
        """
        import time, urllib.request
        import gevent

        # Greenlets racing to start the server must neither deadlock nor start two.
        starts = [gevent.spawn(server_url) for _ in range(5)]
        gevent.joinall(starts, raise_error=True)
        [url] = {start.value for start in starts}

        started = time.monotonic()
        fetches = [gevent.spawn(lambda: urllib.request.urlopen(url + "/delay/0.3").read()) for _ in range(3)]
        gevent.joinall(fetches, raise_error=True)
        print([fetch.value for fetch in fetches], round(time.monotonic() - started, 2))
        stop_server()
        """
    )
    patched = _run_python("-c", script)
    try:
        out, err = patched.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        patched.kill()
        pytest.fail(f"deadlocked or too slow; stderr:\n{patched.communicate()[1]}")
    assert patched.returncode == 0, err
    bodies, elapsed = out.rsplit(" ", 1)
    assert bodies == str([b"delayed 0.3 s\n"] * 3)
    assert float(elapsed) < 0.9  # the greenlets' fetches overlapped: in turn they take 0.9 s


def test_by_hand_prints_the_url_and_stops_cleanly_on_ctrl_c():
    by_hand = _run_python("-m", "geventtornado_magics.demo")
    try:
        marker, url = by_hand.stdout.readline().split()
        assert marker == "GTM_DEMO_URL"
        assert by_hand.stdout.readline() == f"demo server on {url} (Ctrl-C to stop)\n"
        assert fetch(url + "/status/200")[0] == 200
    finally:
        by_hand.send_signal(signal.SIGINT)
        _, err = by_hand.communicate(timeout=5)
    assert (by_hand.returncode, err) == (0, "")
