"""Python `websockets` client against one of our servers.

    python py-client.py URL [--basic]

The server must echo, select `echo` when offered, echo close codes, and
(unless --basic) close with CODE and TEXT after the first echo when asked
with `?close=CODE&reason=TEXT`; permessage-deflate must be negotiated.
Prints TAP lines (`ok - ...` / `not ok - ...`) and exits 1 on any failure.

    python py-client.py URL --windows

instead runs only the window-size scenario: for each window size 9-15 in
both directions, a chat stream whose messages refer back across earlier
ones, each sent after the previous echo arrived, so a server that releases
its compression state when idle does so between every two messages while
this client keeps its own.

    python py-client.py URL --broadcast

instead runs only the broadcast scenario against `mio-broadcast`: one
sender and receivers with every server window 9-15, with and without
`server_no_context_takeover`, and one without deflate; every receiver
must read every message the sender sends. The server compresses each
message once for all receivers whose window allows it (a stream of its
own, inflated by receivers that keep their context) and per connection
for the others.
"""

import contextlib
import sys

from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

URL = sys.argv[1]
BASIC = "--basic" in sys.argv[2:]
TIMEOUT = 20
results = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - every failure is reported
        results["failed"] += 1
        print(f"not ok - {name}: {type(error).__name__}: {error}", flush=True)
    else:
        results["passed"] += 1
        print(f"ok - {name}", flush=True)


def open_ws(subprotocols=None, compression="deflate", query=""):
    return connect(
        URL + query,
        subprotocols=subprotocols,
        compression=compression,
        max_size=64 << 20,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    )


def noise(n):
    """Bytes that do not compress (xorshift, fixed seed)."""
    out = bytearray(n)
    x = 0x2545F491
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def big_text(n):
    """Exactly n bytes of UTF-8 with multi-byte characters in it."""
    unit = "WebSocket ✓ 1 MiB of text. "
    data = (unit * (n // len(unit.encode()) + 2)).encode()[:n]
    text = data.decode("utf-8", errors="ignore")
    return text + "." * (n - len(text.encode()))


def expect(actual, wanted, what):
    if actual != wanted:
        raise AssertionError(f"{what}: got {actual!r:.80}, expected {wanted!r:.80}")


def echo(ws, payload):
    ws.send(payload)
    reply = ws.recv(timeout=TIMEOUT)
    expect(type(reply), type(payload), "kind")
    if reply != payload:
        raise AssertionError(f"payload differs ({len(payload)} sent, {len(reply)} back)")


def extensions(ws):
    return ws.response.headers.get("Sec-WebSocket-Extensions", "")


def ping(ws):
    payload = b"interop-ping \x00\xff"
    if not ws.ping(payload).wait(TIMEOUT):
        raise AssertionError("no pong with the ping's payload")


def client_close(ws):
    ws.close(4001, "client-bye")
    expect(ws.close_code, 4001, "close code echoed")


def no_common_protocol():
    with open_ws(["nope"]) as ws:
        expect(ws.subprotocol, None, "subprotocol")


def no_deflate():
    with open_ws(compression=None) as ws:
        expect(extensions(ws), "", "extensions")
        echo(ws, "x" * 4096)


def server_close():
    with open_ws(query="?close=4002&reason=server-bye") as ws:
        echo(ws, "last words")
        try:
            message = ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as closed:
            expect((closed.rcvd.code, closed.rcvd.reason), (4002, "server-bye"), "close")
        else:
            raise AssertionError(f"expected the close, got {message!r:.80}")



def run_session(ws):
    check("subprotocol echo selected", lambda: expect(ws.subprotocol, "echo", "subprotocol"))
    check(
        "permessage-deflate negotiated",
        lambda: expect(extensions(ws).startswith("permessage-deflate"), True, extensions(ws)),
    )
    check("text echo", lambda: echo(ws, "Hello, interop!"))
    check("unicode text echo", lambda: echo(ws, "héllo wörld — 你好, мир 🌍🚀 ∑"))
    check("binary echo (all 256 byte values)", lambda: echo(ws, bytes(range(256))))
    check("1 MiB text echo", lambda: echo(ws, big_text(1 << 20)))
    check("1 MiB binary echo", lambda: echo(ws, noise(1 << 20)))
    check("ping answered with pong", lambda: ping(ws))
    check("client close 4001 echoed", lambda: client_close(ws))



def chat_stream(bits, count=16):
    """Chat lines sharing keys and words, and every fifth message one longer
    than the window, so back-references reach across messages and across
    the window's edge."""
    words = ["hello", "build", "green", "lunch", "review", "deploy", "slides", "tomorrow"]
    for i in range(count):
        text = " ".join(words[(i * 3 + k) % len(words)] for k in range(6))
        if i % 5 == 4:
            text = (text + f" {i} ") * ((1 << bits) // len(text) + 2)
        yield f'{{"type":"message","room":"general","seq":{i},"user":"u{i % 3}","text":"{text}"}}'


def windows_case(bits):
    factory = ClientPerMessageDeflateFactory(
        server_max_window_bits=bits, client_max_window_bits=bits
    )
    with connect(
        URL, extensions=[factory], compression=None, open_timeout=TIMEOUT, max_size=1 << 20
    ) as ws:
        agreed = extensions(ws)
        if f"server_max_window_bits={bits}" not in agreed:
            raise AssertionError(f"negotiated {agreed!r}")
        if bits < 15 and f"client_max_window_bits={bits}" not in agreed:
            raise AssertionError(f"negotiated {agreed!r}")
        for message in chat_stream(bits):
            echo(ws, message)


def windows():
    for bits in range(9, 16):
        check(
            f"{bits}-bit windows both ways, server idle between messages",
            lambda bits=bits: windows_case(bits),
        )
    print(f"# {results['passed']} passed, {results['failed']} failed", flush=True)
    sys.exit(1 if results["failed"] else 0)


def broadcast_receivers(stack):
    receivers = []
    for bits in range(9, 16):
        for no_takeover in (False, True):
            factory = ClientPerMessageDeflateFactory(
                server_max_window_bits=bits, server_no_context_takeover=no_takeover
            )
            ws = stack.enter_context(
                connect(
                    URL,
                    extensions=[factory],
                    compression=None,
                    open_timeout=TIMEOUT,
                    max_size=1 << 20,
                )
            )
            receivers.append((f"window {bits}, no_context_takeover {no_takeover}", ws))
    receivers.append(("no deflate", stack.enter_context(open_ws(compression=None))))
    return receivers


def broadcast():
    with contextlib.ExitStack() as stack:
        receivers = broadcast_receivers(stack)
        sender = stack.enter_context(open_ws())
        # Chat lines, a repeat (which a per-connection compressor would
        # shrink to a back-reference), and one longer than any window.
        messages = list(chat_stream(15, count=10))
        messages.append(messages[3])
        for message in messages:
            sender.send(message)
        for name, ws in receivers:
            def receive_all(ws=ws):
                for i, message in enumerate(messages):
                    expect(ws.recv(timeout=TIMEOUT), message, f"message {i}")

            check(f"broadcast received: {name}", receive_all)
    print(f"# {results['passed']} passed, {results['failed']} failed", flush=True)
    sys.exit(1 if results["failed"] else 0)


def main():
    if "--windows" in sys.argv[2:]:
        windows()
    if "--broadcast" in sys.argv[2:]:
        broadcast()
    with open_ws(["nope", "echo"]) as ws:
        run_session(ws)
    check("no subprotocol when none match", no_common_protocol)
    check("no deflate when not offered", no_deflate)
    if not BASIC:
        check("server close 4002 with reason seen", server_close)
    print(f"# {results['passed']} passed, {results['failed']} failed", flush=True)
    sys.exit(1 if results["failed"] else 0)


main()
