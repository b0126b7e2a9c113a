"""Python `websockets` echo server for our client (examples/interop-client).

Follows the conventions interop-client expects: echo every message, select
the `echo` subprotocol when offered (and nothing otherwise), echo a close
code, and with `?close=CODE&reason=TEXT` close that way after the first echo.
permessage-deflate is on (the library's default). Prints its address, then
serves until killed.
"""

import asyncio
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve


def select_subprotocol(connection, offered):
    return "echo" if "echo" in offered else None


async def handler(ws):
    query = parse_qs(urlsplit(ws.request.path).query)
    close_after = None
    if "close" in query:
        close_after = (int(query["close"][0]), query.get("reason", [""])[0])
    async for message in ws:
        await ws.send(message)
        if close_after is not None:
            await ws.close(*close_after)
            return


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with serve(
        handler,
        "127.0.0.1",
        port,
        select_subprotocol=select_subprotocol,
        compression="deflate",
        max_size=64 << 20,
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"py-websockets-server listening on ws://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


asyncio.run(main())
