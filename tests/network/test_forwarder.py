"""The supervisor's relays alone, in this process, on 127.0.0.1: TCP with a payload large
enough to exercise back-pressure and half-close, UDP round trips for two clients."""

from __future__ import annotations

import os
import socket
import sys
import threading

KERNEL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "kernel")
sys.path.insert(0, KERNEL)

from baleine.net import supervisor


def _listener(kind=socket.SOCK_STREAM) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def test_tcp_relay_large_payload_and_half_close():
    upstream = _listener()

    def echo_server():
        while True:
            conn, _ = upstream.accept()
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                conn.sendall(data[::-1])  # answers only after the client's half-close

    threading.Thread(target=echo_server, daemon=True).start()
    front = _listener()
    threading.Thread(target=supervisor._serve_tcp, args=([front], "127.0.0.1", [upstream.getsockname()[1]]),
                     daemon=True).start()
    payload = os.urandom(8 * 1024 * 1024)
    for _ in range(3):
        with socket.create_connection(front.getsockname(), timeout=20) as c:
            sender = threading.Thread(target=lambda: (c.sendall(payload), c.shutdown(socket.SHUT_WR)))
            sender.start()
            got = b""
            while chunk := c.recv(1 << 20):
                got += chunk
            sender.join()
        assert got == payload[::-1]


def test_tcp_relay_closes_when_nothing_listens():
    unused = _listener()
    port = unused.getsockname()[1]
    unused.close()
    front = _listener()
    threading.Thread(target=supervisor._serve_tcp, args=([front], "127.0.0.1", [port]), daemon=True).start()
    with socket.create_connection(front.getsockname(), timeout=5) as c:
        assert c.recv(10) == b""


def test_udp_relay_round_trips_per_client():
    upstream = _listener(socket.SOCK_DGRAM)

    def echo():
        while True:
            data, peer = upstream.recvfrom(65536)
            upstream.sendto(b"echo:" + data, peer)

    threading.Thread(target=echo, daemon=True).start()
    front = _listener(socket.SOCK_DGRAM)
    threading.Thread(target=supervisor._serve_udp, args=(front, "127.0.0.1", upstream.getsockname()[1]),
                     daemon=True).start()
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for i, c in enumerate(clients):
        c.settimeout(5)
        for n in range(3):
            c.sendto(f"{i}-{n}".encode(), front.getsockname())
            assert c.recvfrom(100)[0] == f"echo:{i}-{n}".encode()
        c.close()
