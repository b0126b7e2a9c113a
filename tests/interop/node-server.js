'use strict';
// Node `ws` echo server for our client (examples/interop-client).
//
// Follows the conventions interop-client expects: echo every message, select
// the `echo` subprotocol when offered (and nothing otherwise), echo a close
// code (ws does that itself), and with `?close=CODE&reason=TEXT` close that
// way after the first echo. permessage-deflate is on for every message
// (ws's server has it off by default). Prints its address, then serves until
// killed.
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] || 0),
  maxPayload: 64 << 20,
  perMessageDeflate: { threshold: 0 },
  handleProtocols: (offered) => (offered.has('echo') ? 'echo' : false),
});

wss.on('listening', () => {
  console.log(`node-ws-server listening on ws://127.0.0.1:${wss.address().port}`);
});

wss.on('connection', (ws, request) => {
  const query = new URL(request.url, 'http://localhost').searchParams;
  let closeAfter = query.has('close') ? [Number(query.get('close')), query.get('reason') || ''] : null;
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
    if (closeAfter) {
      ws.close(...closeAfter);
      closeAfter = null;
    }
  });
  ws.on('error', (error) => console.error('connection error:', error.message));
});
