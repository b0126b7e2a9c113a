'use strict';
// Shared by the Node scripts: payload builders and a TAP-printing runner.

// Bytes that do not compress (xorshift with a fixed seed), so a large echo
// is large on the wire even under permessage-deflate.
function noise(len) {
  const out = Buffer.alloc(len);
  let x = 0x2545f491;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

// Exactly `len` bytes of UTF-8 text with multi-byte characters in it.
function bigText(len) {
  const unit = 'WebSocket ✓ 1 MiB of text. ';
  let text = unit.repeat(Math.ceil(len / Buffer.byteLength(unit)) + 1);
  let buf = Buffer.from(text);
  // Cut on a character boundary, then pad with ASCII.
  let end = len;
  while ((buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString() + '.'.repeat(len - end);
}

// Chat lines sharing keys and words, and every fifth message one longer than
// a 2^bits window, so back-references reach across messages and across the
// window's edge (the same stream as py-client.py's chat_stream).
function* chatStream(bits, count = 16) {
  const words = ['hello', 'build', 'green', 'lunch', 'review', 'deploy', 'slides', 'tomorrow'];
  for (let i = 0; i < count; i++) {
    let text = [...Array(6).keys()].map((k) => words[(i * 3 + k) % words.length]).join(' ');
    if (i % 5 === 4) text = `${text} ${i} `.repeat(Math.floor((1 << bits) / text.length) + 2);
    yield `{"type":"message","room":"general","seq":${i},"user":"u${i % 3}","text":"${text}"}`;
  }
}

// Runs `body(check)`; each check prints one TAP line. Exits 1 on any
// failure or on an error outside a check, and after `limitMs` whatever happens.
function run(body, limitMs = 120000) {
  let failed = 0;
  let passed = 0;
  const timer = setTimeout(() => {
    console.log(`not ok - timed out after ${limitMs} ms`);
    process.exit(1);
  }, limitMs);
  const check = async (name, fn) => {
    try {
      await fn();
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}: ${error && error.message}`);
    }
  };
  body(check).then(
    () => {
      clearTimeout(timer);
      console.log(`# ${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
    (error) => {
      clearTimeout(timer);
      console.log(`not ok - aborted: ${error && error.stack}`);
      process.exit(1);
    },
  );
}

// Flags for the system Chromium run headless as root in a sandbox-less,
// offline test: no GPU, no QUIC, no background traffic.
const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

module.exports = { noise, bigText, run, chromiumArgs, chatStream };
