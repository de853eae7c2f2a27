"""Malformed HTTP straight at a running ``moderation serve``: refused with 400, nothing of the
request in the server log (aiohttp's own "Error handling request" would quote it), still serving."""

from __future__ import annotations

import socket

from tests.e2e.conftest import Server

FAKE_KEY = "cm_FAKEKEYdoNotLogMe0123456789abcdefghijklmno"
MALFORMED = [
    f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization Bearer {FAKE_KEY}\r\n\r\n".encode(),
    f"POST /v1/comments HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nX-Note: {FAKE_KEY}\r\n\r\n".encode(),
    b"GET /" + FAKE_KEY.encode() * 300 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + FAKE_KEY.encode() + b"\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + FAKE_KEY.encode(),  # TLS to a plain-HTTP port
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: \x00" + FAKE_KEY.encode() + b"\r\n\r\n",
]


def send_raw(server: Server, raw: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_malformed_requests_are_refused_and_not_logged(server: Server) -> None:
    for raw in MALFORMED:
        answer = send_raw(server, raw)
        assert answer == b"" or answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], answer[:200]
    ok = send_raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200"), "still serving after the garbage"
    log = server.log()
    assert FAKE_KEY not in log and FAKE_KEY[:12] not in log
    assert "Traceback" not in log
    assert "malformed HTTP request refused with 400" in log
