"""A small HTTP/3 client on aioquic for swarmgate's tests (tests/http3.rs).

Sends requests over one QUIC connection and prints one JSON line per response:
{"id", "status", "headers": [[name, value]...], "length", "sha256", "trailers": [...]}.

usage: client.py PORT SNI REQUEST...   with REQUEST = METHOD:PATH[:BODY_BYTES]
All requests go out at once (concurrent streams); certificates are not verified (test certs).
"""

import asyncio
import hashlib
import json
import ssl
import sys

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.waiting = {}
        self.got = {}

    def quic_event_received(self, event):
        for ev in self.h3.handle_event(event):
            if isinstance(ev, (HeadersReceived, DataReceived)):
                got = self.got.setdefault(
                    ev.stream_id, {"headers": None, "body": b"", "trailers": None}
                )
                if isinstance(ev, HeadersReceived):
                    pairs = [[k.decode(), v.decode()] for k, v in ev.headers]
                    if got["headers"] is None:
                        got["headers"] = pairs
                    else:
                        got["trailers"] = pairs
                else:
                    got["body"] += ev.data
                if ev.stream_ended:
                    fut = self.waiting.pop(ev.stream_id, None)
                    if fut is not None and not fut.done():
                        fut.set_result(got)

    async def request(self, method, authority, path, body):
        stream_id = self._quic.get_next_available_stream_id()
        headers = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", path.encode()),
            (b"user-agent", b"aioquic-test"),
        ]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        self.h3.send_headers(stream_id, headers, end_stream=not body)
        if body:
            # In pieces, so the body crosses several DATA frames.
            step = 64 * 1024
            for i in range(0, len(body), step):
                self.h3.send_data(
                    stream_id, body[i : i + step], end_stream=i + step >= len(body)
                )
        fut = asyncio.get_running_loop().create_future()
        self.waiting[stream_id] = fut
        self.transmit()
        return await asyncio.wait_for(fut, 20)


async def main():
    port, sni, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    config.verify_mode = ssl.CERT_NONE
    config.server_name = sni
    async with connect("127.0.0.1", port, configuration=config, create_protocol=Client) as client:
        jobs = []
        for spec in specs:
            parts = spec.split(":")
            size = int(parts[2]) if len(parts) > 2 else 0
            body = bytes((i * 7) % 251 for i in range(size))
            jobs.append(client.request(parts[0], sni, parts[1], body))
        for i, got in enumerate(await asyncio.gather(*jobs)):
            print(
                json.dumps(
                    {
                        "id": i,
                        "status": int(dict(got["headers"])[":status"]),
                        "headers": got["headers"],
                        "length": len(got["body"]),
                        "sha256": hashlib.sha256(got["body"]).hexdigest(),
                        "body": got["body"][:200].decode("utf-8", "replace"),
                        "trailers": got["trailers"],
                    }
                ),
                flush=True,
            )


asyncio.run(main())
