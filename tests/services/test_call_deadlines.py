"""One watchdog thread bounds every vendor call of a process; clients keep no cookies."""

import socket
import threading
import time

from market.lib.outbound import transport
from tests.services.conftest import STATUS_BODY, json_reply
from tests.services.test_guard_connections import client_for


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vendor-call-deadlines"]


def test_many_calls_share_one_watchdog_thread(stub_server, allow_loopback):
    server = stub_server({"/mt/tenant/t1/status": json_reply(200, STATUS_BODY)})

    with client_for(server.url()) as vendor:
        results = [vendor.status("t1", request_id=f"r{n}") for n in range(20)]

    assert all(result.ok for result in results)
    assert len(watchdog_threads()) == 1


def test_a_deadline_shuts_its_sockets_when_it_passes_and_not_after_it_ended():
    left, right = socket.socketpair()
    ended_left, ended_right = socket.socketpair()
    try:
        with transport.CallDeadline(0.2) as deadline:
            deadline.watch(left)
            left.settimeout(5)
            started = time.perf_counter()
            assert left.recv(1) == b""  # the watchdog shut it down: the read returns at once
            assert time.perf_counter() - started < 2
            assert deadline.expired
        with transport.CallDeadline(0.2) as finished:
            finished.watch(ended_left)
        time.sleep(0.4)
        assert not finished.expired
        ended_right.sendall(b"x")
        assert ended_left.recv(1) == b"x"  # untouched: its call ended before the deadline
    finally:
        for sock in (left, right, ended_left, ended_right):
            sock.close()


def test_a_client_sends_no_cookie_a_vendor_set_on_an_earlier_call(stub_server, allow_loopback):
    server = stub_server(
        {
            "/mt/tenant/t1/status": json_reply(
                200, STATUS_BODY, headers={"Set-Cookie": "session=tenant-one; Path=/"}
            ),
            "/mt/tenant/t2/status": json_reply(200, {"tenant_id": "t2", "status": "active"}),
        }
    )

    with client_for(server.url()) as vendor:
        assert vendor.status("t1", request_id="r1").ok
        assert vendor.status("t2", request_id="r2").ok

    assert "Cookie" not in server.requests[1].headers
