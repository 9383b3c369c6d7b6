"""The kernel harness itself: replies matched to their requests, deadlines that hold, no abort by timing."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.kernel


def test_a_reply_left_queued_by_another_request_is_not_taken_for_the_cells(kernel):
    kernel.client.kernel_info()  # its reply waits on the shell channel, unread, as after a slow start
    reply = kernel.execute("raise ValueError('mine')")
    assert reply.status == "error" and reply.error["evalue"] == "mine"
    assert kernel.ok("6 * 7").value == "42"


def test_a_cell_queued_right_behind_a_failing_one_still_runs(kernel):
    kernel.send("import time\ntime.sleep(0.5)\nraise ValueError('first')")  # the next arrives while it runs
    assert kernel.ok("'second'").value == "'second'"


def test_a_cell_queued_behind_a_failing_one_is_aborted_when_the_test_asks_for_it(kernel):
    kernel.send("import time\ntime.sleep(0.5)\nraise ValueError('first')", stop_on_error=True)
    assert kernel.execute("'second'").status == "aborted"
    assert kernel.ok("'third'").value == "'third'"


def test_the_output_deadline_holds_while_the_kernel_keeps_talking(kernel):
    msg_id = kernel.send("import time\nwhile True:\n    print('chatter', flush=True)\n    time.sleep(0.01)\n")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        for _ in kernel.until_idle(msg_id, deadline=started + 1.5):
            pass
    assert time.monotonic() - started < 10
    kernel.manager.interrupt_kernel()
    assert kernel.shell_reply(msg_id, timeout=30)["content"]["ename"] == "KeyboardInterrupt"
    assert kernel.ok("'quiet again'").value == "'quiet again'"
