'use strict';
// Node `ws` echo server for our client (examples/interop-client).
//
// Follows the conventions interop-client expects: echo every message, select
// the `echo` subprotocol when offered (and nothing otherwise), echo a close
// code (ws does that itself), and with `?close=CODE&reason=TEXT` close that
// way after the first echo. permessage-deflate is on for every message
// (ws's server has it off by default). Prints its address, then serves until
// killed. With TLS_CERT and TLS_KEY (PEM files) in the environment it serves
// wss:// over Node's https (tests/interop/tls.sh).
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const tls = process.env.TLS_CERT
  ? https.createServer({ cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) })
  : null;
const wss = new WebSocketServer({
  ...(tls ? { server: tls } : { host: '127.0.0.1', port }),
  maxPayload: 64 << 20,
  perMessageDeflate: { threshold: 0 },
  handleProtocols: (offered) => (offered.has('echo') ? 'echo' : false),
});

const listening = (scheme, address) => () => {
  console.log(`node-ws-server listening on ${scheme}://127.0.0.1:${address().port}`);
};
if (tls) {
  tls.listen(port, '127.0.0.1', listening('wss', () => tls.address()));
} else {
  wss.on('listening', listening('ws', () => wss.address()));
}

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
