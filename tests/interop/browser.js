'use strict';
// Headless Chromium (the system's, driven by playwright-core) against our
// servers:
//
//   node browser.js ECHO_WS_URL CHAT_HTTP_URL
//   node browser.js ECHO_WS_URL PAGE_HTTP_URL --echo-page
//
// Part one runs the browser's own WebSocket API against an echo server
// (examples/echo-server, or hyper-server's /ws) from inside a page; part two
// opens two pages of examples/chat, has them talk, and adds a plain
// (non-browser) WebSocket client to the room. With --echo-page, part two is
// instead examples/hyper-server's page on /, echoing through its /ws.
// Prints TAP lines and exits 1 on any failure.
const { chromium } = require('playwright-core');
const WebSocket = require('ws');
const { run, chromiumArgs } = require('./harness');

const [echoUrl, chatUrl, mode] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20000;

// Runs inside the page: one scenario of the browser WebSocket API. Returns
// what it observed; the checks compare it outside the page.
async function inPage({ url, scenario, timeoutMs }) {
  const open = (protocols) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  // Listeners, not on* properties, so waiting for a reply and for the
  // close can overlap.
  const next = (ws) => new Promise((resolve, reject) => {
    ws.addEventListener('message', (event) => resolve(event.data), { once: true });
    ws.addEventListener('close', (event) => reject(new Error(`closed with ${event.code} while waiting`)), { once: true });
  });
  const closed = (ws) => new Promise((resolve) => {
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }), { once: true });
  });
  const sameBytes = (a, b) => {
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    if (x.length !== y.length) return `length ${y.length}, sent ${x.length}`;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `differs at byte ${i}`;
    return 'same';
  };
  const echo = async (ws, payload) => {
    const reply = next(ws);
    ws.send(payload);
    const got = await reply;
    if (typeof payload === 'string') {
      if (typeof got !== 'string') return 'came back as binary';
      return got === payload ? 'same' : `text differs (${got.length} vs ${payload.length} chars)`;
    }
    if (!(got instanceof ArrayBuffer)) return 'came back as text';
    return sameBytes(payload, got);
  };
  const limit = new Promise((_, reject) => setTimeout(() => reject(new Error(`${scenario} timed out`)), timeoutMs));
  return Promise.race([limit, runScenario()]);
  async function runScenario() {
    switch (scenario) {
      case 'session': {
        const ws = await open(['nope', 'echo']);
        const out = { protocol: ws.protocol, extensions: ws.extensions };
        out.text = await echo(ws, 'Hello from Chromium');
        out.unicode = await echo(ws, 'héllo wörld — 你好, мир 🌍🚀 ∑ \u0000 end');
        out.binary = await echo(ws, Uint8Array.from({ length: 256 }, (_, i) => i).buffer);
        // 1 MiB that does not compress (xorshift), then 1 MiB of text.
        const big = new Uint8Array(1 << 20);
        let x = 0x2545f491;
        for (let i = 0; i < big.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; big[i] = x & 0xff; }
        out.bigBinary = await echo(ws, big.buffer);
        out.bigText = await echo(ws, 'Ünïcödé ✓ lots of text. '.repeat(45000));
        const done = closed(ws);
        ws.close(4001, 'client-bye');
        out.close = await done;
        return out;
      }
      case 'no-common-protocol': {
        // Browsers fail a connection whose response names no subprotocol
        // when one was asked for (WHATWG WebSockets), so a refusal here is
        // the server selecting none.
        let ws;
        try {
          ws = await open(['nope']);
        } catch {
          return { opened: false };
        }
        ws.close(1000);
        return { opened: true, protocol: ws.protocol };
      }
      case 'server-close': {
        const ws = await open([]);
        const done = closed(ws);
        const echoed = await echo(ws, 'last words');
        return { echoed, close: await done };
      }
      default:
        throw new Error(`unknown scenario ${scenario}`);
    }
  }
}

function expectEqual(actual, wanted, what) {
  const a = JSON.stringify(actual);
  const w = JSON.stringify(wanted);
  if (a !== w) throw new Error(`${what}: got ${a}, expected ${w}`);
}

// The chat log of a page, as the user sees it.
const chatLines = (page) => page.$$eval('#log li', (items) => items.map((li) => li.textContent));

async function waitForLine(page, wanted, what) {
  try {
    await page.waitForFunction(
      (text) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === text),
      wanted,
      { timeout: TIMEOUT },
    );
  } catch {
    throw new Error(`${what}: no line ${JSON.stringify(wanted)} in ${JSON.stringify(await chatLines(page))}`);
  }
}

function plainClient(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
}

// An upgrade from another origin's page must be refused with 403.
async function refusesCrossOrigin(url) {
  try {
    const ws = await plainClient(url, { origin: 'http://elsewhere.invalid' });
    ws.terminate();
  } catch (error) {
    if (error.message === 'HTTP 403') return;
    throw error;
  }
  throw new Error('accepted');
}

// hyper-server's page: it connects to /ws on load, sends a greeting and
// echoes what is typed; a page from another origin is refused.
async function echoPage(check, browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const lines = () => page.$$eval('#log li', (items) => items.map((li) => li.textContent));
  await check('page on / connects to /ws on the same port and gets its echo', async () => {
    await page.goto(chatUrl);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'echoed');
    expectEqual(await lines(), ['hello from the page'], 'log');
  });
  await check('text typed in the page comes back', async () => {
    await page.fill('#text', 'typed ✓');
    await page.press('#text', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#log li').length === 2);
    expectEqual(await lines(), ['hello from the page', 'typed ✓'], 'log');
  });
  await check('a cross-origin upgrade is refused with 403', async () => {
    await refusesCrossOrigin(echoUrl);
  });
  await page.close();
}

run(async (check) => {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60000,
    args: chromiumArgs,
  });
  try {
    console.log(`# ${await browser.version()}`);
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT);
    // hyper-server accepts pages of its own origin only.
    if (mode === '--echo-page') await page.goto(chatUrl);
    const session = await page.evaluate(inPage, { url: echoUrl, scenario: 'session', timeoutMs: TIMEOUT });
    await check('subprotocol echo selected', () => expectEqual(session.protocol, 'echo', 'ws.protocol'));
    await check('permessage-deflate negotiated', () => {
      if (!session.extensions.startsWith('permessage-deflate')) throw new Error(`ws.extensions ${JSON.stringify(session.extensions)}`);
    });
    await check('text echo', () => expectEqual(session.text, 'same', 'text'));
    await check('unicode text echo', () => expectEqual(session.unicode, 'same', 'unicode'));
    await check('binary (ArrayBuffer) echo', () => expectEqual(session.binary, 'same', 'binary'));
    await check('1 MiB binary echo', () => expectEqual(session.bigBinary, 'same', '1 MiB binary'));
    await check('1 MiB text echo', () => expectEqual(session.bigText, 'same', 'large text'));
    await check('client close 4001: onclose sees the echoed code, clean', () =>
      expectEqual(session.close, { code: 4001, reason: '', wasClean: true }, 'onclose'));

    const none = await page.evaluate(inPage, { url: echoUrl, scenario: 'no-common-protocol', timeoutMs: TIMEOUT });
    await check('no subprotocol when none match (the browser refuses)', () => expectEqual(none, { opened: false }, 'connection'));

    const serverClose = await page.evaluate(inPage, { url: `${echoUrl}?close=4002&reason=server-bye`, scenario: 'server-close', timeoutMs: TIMEOUT });
    await check('server close 4002: onclose sees code and reason, clean', () => {
      expectEqual(serverClose.echoed, 'same', 'echo before the close');
      expectEqual(serverClose.close, { code: 4002, reason: 'server-bye', wasClean: true }, 'onclose');
    });
    await page.close();
    if (mode === '--echo-page') {
      await echoPage(check, browser);
      return;
    }

    // Two people chatting through examples/chat, and a plain client.
    const ann = await browser.newPage();
    const bob = await browser.newPage();
    ann.setDefaultTimeout(TIMEOUT);
    bob.setDefaultTimeout(TIMEOUT);
    await ann.goto(chatUrl);
    await ann.waitForFunction(() => document.getElementById('status').textContent === 'connected');
    const annName = await ann.inputValue('#name');
    await check('chat page joins with a generated name', async () => {
      if (!/^user-[a-z0-9]+$/.test(annName)) throw new Error(`name ${JSON.stringify(annName)}`);
      await waitForLine(ann, `You joined as ${annName}. Here: ${annName}`, 'welcome');
    });
    await bob.goto(chatUrl);
    await bob.waitForFunction(() => document.getElementById('status').textContent === 'connected');
    const bobName = await bob.inputValue('#name');
    await check('second page sees who is here; first sees the join', async () => {
      await waitForLine(bob, `You joined as ${bobName}. Here: ${annName}, ${bobName}`, 'bob welcome');
      await waitForLine(ann, `${bobName} joined`, 'join');
    });
    const markup = 'hi <b>bob</b> <img src=x onerror="document.title=1"> & ünïcödé 🌍';
    await check('a message typed in one page appears in the other, as text', async () => {
      await ann.fill('#text', markup);
      await ann.press('#text', 'Enter');
      await waitForLine(bob, `${annName}: ${markup}`, 'bob sees ann');
      await waitForLine(ann, `${annName}: ${markup}`, 'ann sees her own');
      const injected = await bob.$$eval('#log b, #log img', (nodes) => nodes.length);
      if (injected) throw new Error(`${injected} elements injected from a message`);
    });
    await check('renaming is announced', async () => {
      await bob.fill('#name', 'Bob the Builder');
      await bob.press('#name', 'Enter');
      await bob.locator('#text').focus(); // 'change' fires on blur too
      await waitForLine(ann, `${bobName} is now Bob the Builder`, 'rename');
      await bob.fill('#text', 'can we fix it?');
      await bob.press('#text', 'Enter');
      await waitForLine(ann, 'Bob the Builder: can we fix it?', 'message under the new name');
    });
    const wsUrl = chatUrl.replace(/^http/, 'ws').replace(/\/?$/, '/ws');
    await check('a plain WebSocket client posts into both pages', async () => {
      const cli = await plainClient(wsUrl);
      const welcome = await new Promise((resolve) => cli.once('message', (data) => resolve(JSON.parse(data))));
      expectEqual(welcome.type, 'welcome', 'first message to a plain client');
      await waitForLine(ann, `${welcome.name} joined`, 'cli join');
      cli.send('hello from a terminal');
      await waitForLine(ann, `${welcome.name}: hello from a terminal`, 'ann sees cli');
      await waitForLine(bob, `${welcome.name}: hello from a terminal`, 'bob sees cli');
      cli.close(1000);
      await waitForLine(bob, `${welcome.name} left`, 'cli leave');
    });
    await check('closing a page is announced as leaving', async () => {
      await bob.close();
      await waitForLine(ann, 'Bob the Builder left', 'bob leave');
    });
    await check('a cross-origin upgrade is refused', async () => {
      await refusesCrossOrigin(wsUrl);
    });
    await ann.close();
  } finally {
    await browser.close();
  }
}, 180000);
