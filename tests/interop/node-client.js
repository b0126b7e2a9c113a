'use strict';
// Node `ws` client against one of our servers: node node-client.js URL [--basic]
//
// The server must echo, select `echo` when offered, echo close codes, and
// (unless --basic) close with CODE and TEXT after the first echo when asked
// with `?close=CODE&reason=TEXT`; permessage-deflate must be negotiated.
// Prints TAP lines (`ok - ...` / `not ok - ...`) and exits 1 on any failure.
//
// With --windows instead: only the window-size scenario (for each window
// size 9-15 in both directions, a chat stream whose messages refer back
// across earlier ones, each sent after the previous echo arrived, so a
// server that releases its compression state when idle does so between
// every two messages while this client keeps its own).
const WebSocket = require('ws');
const { noise, bigText, run, chatStream } = require('./harness');

const url = process.argv[2];
const basic = process.argv.includes('--basic');
const windowsOnly = process.argv.includes('--windows');

function open(protocols, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + (options.query || ''), protocols, {
      maxPayload: 64 << 20,
      perMessageDeflate: options.deflate === false ? false : { threshold: 0, ...options.deflate },
    });
    ws.once('upgrade', (response) => { ws.agreed = response.headers['sec-websocket-extensions'] || ''; });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    const onClose = (code) => reject(new Error(`closed with ${code} while waiting`));
    ws.once('close', onClose);
    ws.once('message', (data, isBinary) => {
      ws.off('close', onClose);
      resolve({ data, isBinary });
    });
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function echo(ws, payload, isBinary) {
  const reply = next(ws);
  ws.send(payload, { binary: isBinary });
  const { data, isBinary: gotBinary } = await reply;
  if (gotBinary !== isBinary) throw new Error(`kind changed: binary ${gotBinary}`);
  const sent = Buffer.from(payload);
  if (!sent.equals(data)) throw new Error(`payload differs (${sent.length} sent, ${data.length} back)`);
}

async function windows(check) {
  for (let bits = 9; bits <= 15; bits++) {
    await check(`${bits}-bit windows both ways, server idle between messages`, async () => {
      const ws = await open([], { deflate: { serverMaxWindowBits: bits, clientMaxWindowBits: bits } });
      try {
        if (!ws.agreed.includes(`server_max_window_bits=${bits}`)) throw new Error(`negotiated ${JSON.stringify(ws.agreed)}`);
        for (const message of chatStream(bits)) await echo(ws, message, false);
      } finally {
        ws.close(1000);
      }
    });
  }
}

run(async (check) => {
  if (windowsOnly) {
    await windows(check);
    return;
  }
  const ws = await open(['nope', 'echo']);
  await check('subprotocol echo selected', () => {
    if (ws.protocol !== 'echo') throw new Error(`protocol ${JSON.stringify(ws.protocol)}`);
  });
  await check('permessage-deflate negotiated', () => {
    if (!ws.extensions.includes('permessage-deflate')) throw new Error(`extensions ${JSON.stringify(ws.extensions)}`);
  });
  await check('text echo', () => echo(ws, 'Hello, interop!', false));
  await check('unicode text echo', () => echo(ws, 'héllo wörld — 你好, мир 🌍🚀 ∑', false));
  await check('binary echo (all 256 byte values)', () => echo(ws, Buffer.from([...Array(256).keys()]), true));
  await check('1 MiB text echo', () => echo(ws, bigText(1 << 20), false));
  await check('1 MiB binary echo', () => echo(ws, noise(1 << 20), true));
  await check('ping answered with pong', () => new Promise((resolve, reject) => {
    const payload = Buffer.from('interop-ping \x00', 'latin1');
    ws.once('pong', (data) => (data.equals(payload) ? resolve() : reject(new Error(`pong ${data.toString('hex')}`))));
    ws.ping(payload);
  }));
  await check('client close 4001 echoed', async () => {
    const done = closed(ws);
    ws.close(4001, 'client-bye');
    const { code } = await done;
    if (code !== 4001) throw new Error(`closed with ${code}`);
  });

  // ws fails a handshake that answers an offer with no subprotocol (the
  // RFC lets a client accept it), so that refusal is what proves the server
  // selected none.
  await check('no subprotocol when none match', async () => {
    let plain;
    try {
      plain = await open(['nope']);
    } catch (error) {
      if (error.message === 'Server sent no subprotocol') return;
      throw error;
    }
    plain.close(1000);
    throw new Error(`protocol ${JSON.stringify(plain.protocol)}`);
  });

  const uncompressed = await open([], { deflate: false });
  await check('no deflate when not offered', async () => {
    if (uncompressed.extensions !== '') throw new Error('extension negotiated without an offer');
    await echo(uncompressed, 'x'.repeat(4096), false);
  });
  uncompressed.close(1000);
  await closed(uncompressed);

  if (!basic) {
    const closing = await open([], { query: '?close=4002&reason=server-bye' });
    await check('server close 4002 with reason seen', async () => {
      const done = closed(closing);
      await echo(closing, 'last words', false);
      const { code, reason } = await done;
      if (code !== 4002 || reason !== 'server-bye') throw new Error(`closed with ${code} ${JSON.stringify(reason)}`);
    });
  }
});
