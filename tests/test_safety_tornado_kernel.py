"""What a class types by accident into %%tornado and the magics' options, in a real ipykernel.

Each test is a cell that once hung, killed or misreported in a live kernel
(issue 11); after each, the kernel must still answer plain and magic cells.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


@pytest.fixture(autouse=True)
def kernel_keeps_answering(kernel):
    yield
    assert kernel.alive()
    assert kernel.ok("1 + 1", timeout=20).value == "2"
    assert kernel.ok("%%tornado\nimport asyncio\nawait asyncio.sleep(0.01)\n'awaited'", timeout=20).value == "'awaited'"


def last_run(kernel, expression):
    return kernel.ok(f"import geventtornado_magics as _g\nprint({expression})").stdout.strip()


@pytest.mark.parametrize("magic", ["gevent", "tornado"])
@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_a_usage_error(kernel, magic, timeout):
    reply = kernel.execute(f"%%{magic} --timeout {timeout}\nprint('the cell ran')\n")
    # IPython shows a UsageError on stderr, without a traceback.
    assert reply.status == "error" and "UsageError: argument --timeout" in reply.stderr, reply.text
    assert f"{timeout!r} is not a positive number of seconds" in reply.stderr
    assert f"usage: %%{magic} [" in reply.stderr
    assert "the cell ran" not in reply.stdout and not reply.displays


def test_compare_models_leaves_the_users_urls_and_fetches_their_query_strings(kernel):
    kernel.ok("URLS = [DEMO + '/drip?bytes=500&chunks=1&duration=0'] * 2\nmine = URLS")
    comparison = kernel.ok("comparison = %compare_models --urls URLS\nNone")
    assert comparison.status == "ok"
    assert kernel.ok("URLS is mine and len(URLS) == 2").value == "True"
    fetched = kernel.ok(
        "print({label: sorted((r.url.split('/')[-1], r.status, r.nbytes) for r in run.requests)"
        " for label, run in comparison.runs.items()})"
    ).stdout.strip()
    expected = [("drip?bytes=500&chunks=1&duration=0", 200, 500)] * 2
    assert fetched == str({model: expected for model in ("sequential", "threads", "gevent", "tornado", "asyncio")})
    kernel.ok("del URLS, mine")
    kernel.ok("mine_too = [DEMO + '/delay/0']")
    kernel.ok("%compare_models --urls mine_too --models tornado,asyncio")
    assert kernel.execute("URLS").error["ename"] == "NameError", "a name the user never had stays undefined"
