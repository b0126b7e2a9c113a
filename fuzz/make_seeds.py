#!/usr/bin/env python3
"""Writes the checked-in seed corpora under seeds/<target>/.

Seeds are real wire bytes behind each target's settings prefix (see the
targets' docs): RFC 6455 §5.7 example frames, frames as browsers send them,
a permessage-deflate message from RFC 7692 §7.2.3.1, and opening handshakes
as sent by Chrome, Firefox, Safari and curl. Run from fuzz/: ./make_seeds.py
"""
import os
import struct

KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(first, payload, mask=None, length_form=None):
    """One frame; `first` is the first header byte."""
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if length_form == 64 or n > 0xFFFF:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", n)
    elif length_form == 16 or n > 125:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, mask_bit | n])
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def write(target, name, data):
    os.makedirs(os.path.join("seeds", target), exist_ok=True)
    with open(os.path.join("seeds", target, name), "wb") as f:
        f.write(data)


# Frames as a peer sends them: (name, [(first byte, payload)], compressed?).
STREAMS = [
    ("hello", [(0x81, b"Hello")], False),
    ("fragmented", [(0x01, b"Hel"), (0x80, b"lo")], False),
    ("ping-in-fragments", [(0x01, b"Hel"), (0x89, b"ping"), (0x80, b"lo")], False),
    ("pong", [(0x8A, b"Hello")], False),
    ("binary-256", [(0x82, bytes(range(256)))], False),
    ("close-1000", [(0x88, b"\x03\xe8bye")], False),
    ("close-empty", [(0x88, b"")], False),
    ("utf8-split", [(0x01, "κόσ".encode()[:3]), (0x80, "κόσ".encode()[3:])], False),
    ("bad-utf8", [(0x81, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80")], False),
    ("bad-close-code", [(0x88, b"\x03\xed")], False),
    # RFC 7692 §7.2.3.1: "Hello" compressed, one frame and two fragments.
    ("deflate-hello", [(0xC1, bytes.fromhex("f248cdc9c90700"))], True),
    ("deflate-fragments", [(0x41, bytes.fromhex("f248cd")), (0x80, bytes.fromhex("c9c90700"))], True),
    ("deflate-bfinal", [(0xC1, bytes.fromhex("f348cdc9c90700"))], True),
]


def connection_prefix(streaming, deflate):
    flags = (1 if streaming else 0) | 2 | (4 if deflate else 0)
    # flags, max frame 64*8, max message 64*16, split seed, max read 0 (one
    # read) or 3, deflate bits 15/15 with takeover, level 6 threshold 0.
    prefix = bytes([flags, 64, 64]) + b"\x01\x02\x03\x04"
    return prefix


for target, masked in (("connection_server", True), ("connection_client", False)):
    for name, frames, compressed in STREAMS:
        wire = b"".join(frame(f, p, KEY if masked else None) for f, p in frames)
        for streaming in (False, True):
            for max_read in (0, 3):
                prefix = connection_prefix(streaming, compressed) + bytes([max_read])
                if compressed:
                    prefix += bytes([0x3F, 6])
                tag = f"{name}-{'stream' if streaming else 'whole'}-{max_read}"
                write(target, tag, prefix + wire)
    # Hostile headers: 2^63-1 bytes, over the limit, unmasked/masked by role.
    huge = bytes([0x82, (0x80 if masked else 0) | 127]) + struct.pack(">Q", 2**63 - 1)
    write(target, "huge-length", connection_prefix(False, False) + b"\x00" + huge)
    write(target, "wrong-mask", connection_prefix(False, False) + b"\x00"
          + frame(0x81, b"Hi", None if masked else KEY))

# Frame headers alone.
for name, data in [
    ("short", b"\x81\x05"),
    ("masked", b"\x81\x85\x37\xfa\x21\x3d"),
    ("len16", b"\x82\x7e\x01\x00"),
    ("len64", b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ("len64-masked", b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x37\xfa\x21\x3d"),
    ("top-bit", b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"),
    ("reserved-opcode", b"\x83\x00"),
]:
    write("frame_header", name, data)

# UTF-8: split seed, max piece, then text.
for name, data in [
    ("greek", "κόσμε".encode()),
    ("emoji", "a😀b€c".encode()),
    ("surrogate", b"a\xed\xa0\x80b"),
    ("overlong", b"\xc0\xaf"),
    ("too-big", b"\xf4\x90\x80\x80"),
    ("truncated", b"ok\xe2\x82"),
]:
    write("utf8", name, b"\x05\x00\x00\x00\x02" + data)

CHROME = (
    "GET /chat HTTP/1.1\r\n"
    "Host: localhost:9001\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8000\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n"
)
FIREFOX = (
    "GET /chat HTTP/1.1\r\n"
    "Host: localhost:9001\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: http://localhost:8000\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-Fetch-Dest: empty\r\n"
    "Sec-Fetch-Mode: websocket\r\n"
    "Sec-Fetch-Site: same-site\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "Upgrade: websocket\r\n"
    "\r\n"
)
SAFARI = (
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: localhost:9001\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    "Origin: http://localhost:8000\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "\r\n"
)
CURL = (
    "GET /chat HTTP/1.1\r\n"
    "Host: localhost:9001\r\n"
    "User-Agent: curl/8.5.0\r\n"
    "Accept: */*\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: 6Bq4KVjG5mL9wNvYQd0x8A==\r\n"
    "Connection: Upgrade\r\n"
    "\r\n"
)
PLAIN = "GET /index.html HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"

for name, req in [("chrome", CHROME), ("firefox", FIREFOX), ("safari", SAFARI),
                  ("curl", CURL), ("plain-http", PLAIN)]:
    # max size 255*64, 64 headers, split seed, one read / 7-byte reads;
    # early frame data after the header.
    for max_read in (0, 7):
        prefix = bytes([255, 64]) + b"\x09\x08\x07\x06" + bytes([max_read])
        write("handshake_request", f"{name}-{max_read}",
              prefix + req.encode() + frame(0x81, b"Hi", KEY))

# Responses to the RFC 6455 §1.3 sample key.
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
RESPONSES = [
    ("ours", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"),
    ("protocol", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
    ("deflate", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                f"sec-websocket-accept: {ACCEPT}\r\n"
                "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n"
                "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: nginx/1.25.3\r\n\r\n"),
    ("rejected", "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden"),
    ("redirect", "HTTP/1.1 302 Found\r\nLocation: ws://elsewhere.example/\r\n\r\n"),
]
for name, resp in RESPONSES:
    for flags in (0, 1):
        prefix = bytes([flags, 255]) + b"\x03\x01\x04\x01" + b"\x05"
        write("handshake_response", f"{name}-{flags}",
              prefix + resp.encode() + frame(0x81, b"early"))

# Round trip: flags, fragment size, deflate bits, level/threshold, split
# seed, max read, then operations.
OPS = (b"\x00\x05Hello\x00" + b"\x01\x04\x00\x01\x02\x03\x08" + b"\x02\x04ping"
       + b"\x04\x00\x06\xce\xba\xcf\x83\xce\xbc\x03\x03\x01\x01" + b"\x05\x00\x03bye")
for flags in (0, 1, 2, 3, 6, 7, 8, 15):
    write("round_trip", f"mixed-{flags}", bytes([flags, 7, 0x3F, 6]) + b"\x02\x02\x02\x02\x05" + OPS)

# Proxy replies: flags (bit 0 SOCKS5, bit 1 credentials, bit 2 domain
# target), split seed, max read, then what the proxy sends.
PROXY_REPLIES = [
    ("connect-200", 0, b"HTTP/1.1 200 Connection established\r\nProxy-Agent: tinyproxy/1.11.1\r\n\r\n"
                       b"HTTP/1.1 101 Switching Protocols\r\n"),
    ("connect-407", 2, b"HTTP/1.0 407 Proxy Authentication Required\r\nServer: tinyproxy/1.11.1\r\n"
                       b"Proxy-Authenticate: Basic realm=\"Tinyproxy\"\r\nConnection: close\r\n\r\n<html>"),
    ("connect-403", 0, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
    ("socks-ipv4", 1, b"\x05\x00" + b"\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90" + b"early"),
    ("socks-auth", 3, b"\x05\x02" + b"\x01\x00" + b"\x05\x00\x00\x03\x09localhost\x00\x50"),
    ("socks-ipv6", 5, b"\x05\x00" + b"\x05\x00\x00\x04" + bytes(16) + b"\x00\x50"),
    ("socks-refused", 1, b"\x05\x00" + b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"),
    ("socks-no-method", 3, b"\x05\xff"),
]
for name, flags, reply in PROXY_REPLIES:
    write("proxy_reply", name, bytes([flags]) + b"\x05\x04\x03\x02" + b"\x07" + reply)
