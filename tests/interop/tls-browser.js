'use strict';
// Headless Chromium against our wss:// echo server (examples/echo-server
// --tls), the test certificate accepted on the command line by the hash of
// its public key:
//
//   node tls-browser.js WSS_URL SPKI_SHA256_BASE64
//
// The page is about:blank; everything runs through the browser's own
// WebSocket API. Prints TAP lines and exits 1 on any failure.
const { chromium } = require('playwright-core');
const assert = require('assert');
const { run, chromiumArgs } = require('./harness');

const [url, spki] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;

// Runs inside the page: open, echo a few payloads, close with 4001, and
// report what happened.
async function session({ url, timeoutMs }) {
  const limit = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs));
  const body = async () => {
    const ws = new WebSocket(url, ['echo']);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('WebSocket error before open (certificate refused?)'));
    });
    const replies = [];
    ws.onmessage = (event) => replies.push(event.data);
    const closed = new Promise((resolve) => {
      ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    });
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    ws.send('héllo over TLS 🌍');
    ws.send(big.buffer);
    while (replies.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const echoed = new Uint8Array(replies[1]);
    const same = echoed.length === big.length && echoed.every((b, i) => b === big[i]);
    ws.close(4001, 'bye');
    return { protocol: ws.protocol, text: replies[0], binary: same, close: await closed };
  };
  return Promise.race([limit, body()]);
}

run(async (check) => {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60000,
    args: [`--ignore-certificate-errors-spki-list=${spki}`, ...chromiumArgs],
  });
  try {
    console.log(`# ${await browser.version()}`);
    const page = await browser.newPage();
    const result = await page.evaluate(session, { url, timeoutMs: TIMEOUT });
    await check('wss:// opens with the echo subprotocol', () => assert.strictEqual(result.protocol, 'echo'));
    await check('text echo over TLS', () => assert.strictEqual(result.text, 'héllo over TLS 🌍'));
    await check('1 MiB binary echo over TLS', () => assert.strictEqual(result.binary, true));
    await check('close 4001 over TLS is clean', () =>
      assert.deepStrictEqual(result.close, { code: 4001, reason: '', wasClean: true }));
  } finally {
    await browser.close();
  }
}, 120000);
