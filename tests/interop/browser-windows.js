'use strict';
// Headless Chromium against examples/mio-echo-server for every window size:
//
//   node browser-windows.js WS_URL_9 WS_URL_10 ... WS_URL_15
//
// Each URL is a server started with `--window-bits N` (N = 9, 10, ...). A
// browser offers `permessage-deflate; client_max_window_bits`, so the server
// picks both windows. The page sends a chat stream whose messages refer back
// across earlier ones, each after the previous echo arrived: the server
// releases its compression state between every two messages (it is idle),
// while the browser keeps its own. Prints TAP lines; exits 1 on any failure.
const { chromium } = require('playwright-core');
const { run, chromiumArgs, chatStream } = require('./harness');

const urls = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;

// Runs inside the page: open, then echo every message in turn.
async function inPage({ url, messages, timeoutMs }) {
  const limit = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs));
  const body = async () => {
    const ws = await new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(socket);
      socket.onerror = () => reject(new Error('WebSocket error before open'));
    });
    const out = { extensions: ws.extensions, mismatches: [] };
    for (const [i, message] of messages.entries()) {
      const reply = await new Promise((resolve, reject) => {
        ws.onmessage = (event) => resolve(event.data);
        ws.onclose = (event) => reject(new Error(`closed with ${event.code} at message ${i}`));
        ws.send(message);
      });
      if (reply !== message) out.mismatches.push(i);
    }
    ws.onclose = null;
    ws.close(1000);
    return out;
  };
  return Promise.race([limit, body()]);
}

run(async (check) => {
  const browser = await chromium.launch({ executablePath, headless: true, timeout: 60000, args: chromiumArgs });
  try {
    const page = await browser.newPage();
    for (const [k, url] of urls.entries()) {
      const bits = 9 + k;
      await check(`${bits}-bit windows both ways, server idle between messages`, async () => {
        const messages = [...chatStream(bits)];
        const out = await page.evaluate(inPage, { url, messages, timeoutMs: TIMEOUT });
        if (bits < 15 && !out.extensions.includes(`server_max_window_bits=${bits}`)) {
          throw new Error(`negotiated ${JSON.stringify(out.extensions)}`);
        }
        if (bits < 15 && !out.extensions.includes(`client_max_window_bits=${bits}`)) {
          throw new Error(`negotiated ${JSON.stringify(out.extensions)}`);
        }
        if (out.mismatches.length) throw new Error(`echoes differ at messages ${out.mismatches}`);
      });
    }
  } finally {
    await browser.close();
  }
}, 120000);
