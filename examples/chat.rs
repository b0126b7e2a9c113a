//! A browser chat room on one port: `GET /` serves the page, `/ws` is the
//! WebSocket every client joins.
//!
//! ```sh
//! cargo run --release --example chat            # http://127.0.0.1:8080/
//! cargo run --release --example chat -- 127.0.0.1:9000
//! ```
//! Open the page in two browser tabs and type. Any WebSocket client can join
//! too, e.g. `cargo run --example client -- ws://127.0.0.1:8080/ws`: each line
//! it sends appears in every page.
//!
//! # Protocol
//!
//! Client to server, text frames only (a binary message is refused with
//! close code 1003):
//!
//! - `/nick NAME`: change your name (at most 32 characters; control
//!   characters are dropped);
//! - anything else: a message to everyone, sent as typed.
//!
//! A client picks its name when it connects, with `/ws?name=NAME`
//! (percent-encoded); without one it is called `guest-N`.
//!
//! Server to client, one JSON object per text frame:
//!
//! ```text
//! {"type":"welcome","name":"ann","users":["ann","bob"]}  to the newcomer: its name, who is here
//! {"type":"join","name":"bob"}                           to everyone else
//! {"type":"message","from":"bob","text":"hi"}            to everyone, the sender included
//! {"type":"rename","from":"bob","name":"rob"}            to everyone
//! {"type":"leave","name":"rob"}                          to everyone left
//! ```
//!
//! The page shows all of it as text (`textContent`), never as HTML, so a
//! message cannot inject markup or script.
//!
//! # Design
//!
//! One thread per connection, using the blocking adapter. Broadcasting needs
//! a way to write to a connection while its thread waits for input, and a
//! WebSocket's protocol state lives in one object, so the thread that owns
//! the [`WebSocket`] is also its only writer: it reads with a short socket
//! timeout (a timed-out read loses no bytes) and, between reads, drains a
//! queue of messages that other connections broadcast to it.
//!
//! Each queue is bounded. When a client falls so far behind that its queue
//! is full, the room drops it rather than buffer without limit: its thread
//! sees the queue disconnected and closes with 1008. A socket write that
//! blocks for longer than a few seconds ends the connection too.

use rfc6455::blocking::WebSocket;
use rfc6455::handshake::{reject_response, PlainRequest};
use rfc6455::{AcceptOptions, CloseCode, Config, Error, HandshakeError, Message, Request};
use rfc6455::{ServerUpgrade, Utf8Bytes};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Open connections (page loads included) beyond which new ones are refused.
const MAX_CONNECTIONS: usize = 512;
/// Outgoing messages queued per client before the room gives up on it.
const QUEUE_LEN: usize = 256;
/// The largest message a client may send.
const MAX_MESSAGE: usize = 16 * 1024;
/// The longest name, in characters.
const MAX_NAME: usize = 32;
/// How long a connection thread waits for input before checking its queue:
/// the worst added latency of a broadcast.
const POLL: Duration = Duration::from_millis(20);
/// Time allowed for the HTTP request or upgrade.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A write that blocks longer than this ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("chat listening on http://{}/", listener.local_addr()?);
    let room = Arc::new(Room::default());
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.write_all(&reject_response(503, &[], b"server full\n"));
            continue;
        }
        let room = Arc::clone(&room);
        let open = Arc::clone(&open);
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &room) {
                eprintln!("connection ended: {e}");
            }
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// One connection: a page request, or a chat member from upgrade to close.
fn serve(mut stream: TcpStream, room: &Room) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let config = Config::default().with_max_size(MAX_MESSAGE);
    let mut upgrade = ServerUpgrade::new(config);
    let mut buf = [0u8; 4096];
    let request = loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        match upgrade.receive(&buf[..n]) {
            Ok(Some(request)) => break request,
            Ok(None) => continue,
            Err(HandshakeError::NotUpgrade(plain)) => {
                stream.write_all(&page_response(&plain))?;
                return Ok(());
            }
            Err(e) => {
                if let Some(response) = e.http_response() {
                    stream.write_all(&response)?;
                }
                return Err(Error::Handshake(e));
            }
        }
    };
    if let Err((status, why)) = check_upgrade(&request) {
        stream.write_all(&reject_response(status, &[], why.as_bytes()))?;
        return Ok(());
    }
    let asked = request.query().and_then(name_from_query);
    let (response, conn) = upgrade.accept(&request, AcceptOptions::default());
    stream.write_all(&response)?;
    stream.set_read_timeout(Some(POLL))?;
    let mut ws = WebSocket::from_parts(stream, conn, None);

    let (tx, rx) = mpsc::sync_channel(QUEUE_LEN);
    let id = room.join(asked, tx);
    let result = chat(&mut ws, room, id, &rx);
    room.leave(id);
    result
}

/// The upgrade is for `/ws`, from a page of this server (or from a client
/// that is not a browser and so sends no `Origin`). Checking the origin
/// keeps other sites' pages from joining on a visitor's behalf.
fn check_upgrade(request: &Request) -> Result<(), (u16, &'static str)> {
    if request.path() != "/ws" {
        return Err((404, "not found\n"));
    }
    if let (Some(origin), Some(host)) = (request.header("Origin"), request.header("Host")) {
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host));
        if !same {
            return Err((403, "cross-origin WebSocket refused\n"));
        }
    }
    Ok(())
}

/// Relay until the client leaves: broadcasts out between reads, the
/// client's lines in.
fn chat(
    ws: &mut WebSocket<TcpStream>,
    room: &Room,
    id: u64,
    outbox: &Receiver<Message>,
) -> Result<(), Error> {
    loop {
        loop {
            match outbox.try_recv() {
                Ok(message) => ws.write(message)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // The room dropped us: our queue overflowed.
                    ws.close(CloseCode::POLICY_VIOLATION, "too slow")?;
                    return Ok(());
                }
            }
        }
        ws.flush()?;
        match ws.read() {
            Ok(Message::Text(text)) => match text.strip_prefix("/nick ") {
                Some(name) => room.rename(id, name),
                None if text.trim().is_empty() => {}
                None => room.say(id, &text),
            },
            Ok(Message::Binary(_)) => {
                ws.close(CloseCode::UNSUPPORTED_DATA, "text only")?;
                return Ok(());
            }
            Err(e) if e.is_timeout() => continue,
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// A member: its name and the queue its connection thread drains.
struct Member {
    name: String,
    outbox: SyncSender<Message>,
}

/// Everyone connected, keyed by join order.
#[derive(Default)]
struct Room {
    members: Mutex<BTreeMap<u64, Member>>,
    next_id: AtomicU64,
}

impl Room {
    /// Add a member and announce it; returns its id.
    fn join(&self, asked: Option<String>, outbox: SyncSender<Message>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let name = asked.unwrap_or_else(|| format!("guest-{id}"));
        let mut members = self.lock();
        let users: Vec<&str> = members
            .values()
            .map(|m| m.name.as_str())
            .chain([name.as_str()])
            .collect();
        let mut welcome = Json::new("welcome");
        welcome.field("name", &name).list("users", &users);
        // A fresh queue has room for the welcome.
        let _ = outbox.try_send(welcome.into_message());
        let mut joined = Json::new("join");
        joined.field("name", &name);
        let dropped = deliver(&mut members, &joined.into_message());
        members.insert(id, Member { name, outbox });
        drop(members);
        self.announce_leaves(dropped);
        id
    }

    /// Remove a member and tell the others. A no-op for a member the room
    /// already dropped (and announced) for being too slow.
    fn leave(&self, id: u64) {
        let mut members = self.lock();
        if let Some(member) = members.remove(&id) {
            drop(members);
            self.announce_leaves(vec![member.name]);
        }
    }

    /// A message from `id` to everyone.
    fn say(&self, id: u64, text: &str) {
        let mut members = self.lock();
        let Some(from) = members.get(&id).map(|m| m.name.clone()) else {
            return;
        };
        let mut message = Json::new("message");
        message.field("from", &from).field("text", text);
        let dropped = deliver(&mut members, &message.into_message());
        drop(members);
        self.announce_leaves(dropped);
    }

    /// A new name for `id`, announced to everyone.
    fn rename(&self, id: u64, asked: &str) {
        let Some(name) = clean_name(asked) else {
            return;
        };
        let mut members = self.lock();
        let Some(member) = members.get_mut(&id) else {
            return;
        };
        let old = std::mem::replace(&mut member.name, name.clone());
        let mut renamed = Json::new("rename");
        renamed.field("from", &old).field("name", &name);
        let dropped = deliver(&mut members, &renamed.into_message());
        drop(members);
        self.announce_leaves(dropped);
    }

    /// Tell everyone who left; announcing may drop more slow members, whose
    /// leaving is announced in turn.
    fn announce_leaves(&self, mut names: Vec<String>) {
        while let Some(name) = names.pop() {
            let mut left = Json::new("leave");
            left.field("name", &name);
            let mut members = self.lock();
            names.extend(deliver(&mut members, &left.into_message()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Member>> {
        // A thread that panicked holding the lock left the map consistent
        // (every update is a single insert, remove or assignment).
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queue `message` for every member; members whose queue is full are
/// removed (dropping the sender tells their thread) and their names returned.
fn deliver(members: &mut BTreeMap<u64, Member>, message: &Message) -> Vec<String> {
    let mut dropped = Vec::new();
    members.retain(|_, member| match member.outbox.try_send(message.clone()) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            eprintln!("{}: too slow, dropped", member.name);
            dropped.push(member.name.clone());
            false
        }
        // Its thread is on its way out and will call leave().
        Err(TrySendError::Disconnected(_)) => true,
    });
    dropped
}

/// The `name` parameter of a query string, percent-decoded and cleaned.
fn name_from_query(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="))
        .and_then(|value| clean_name(&percent_decode(value)))
}

/// Decodes `%XX` escapes and `+` (the form encoding of a space); invalid
/// escapes stay as they are, invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A name with control characters removed, trimmed, at most [`MAX_NAME`]
/// characters; `None` if nothing is left.
fn clean_name(asked: &str) -> Option<String> {
    let name: String = asked
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME)
        .collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

/// A flat JSON object built field by field: enough for the chat events,
/// without a serializer dependency.
struct Json(String);

impl Json {
    fn new(kind: &str) -> Self {
        let mut json = Json(String::from("{"));
        json.key("type");
        json.string(kind);
        json
    }

    fn field(&mut self, key: &str, value: &str) -> &mut Self {
        self.0.push(',');
        self.key(key);
        self.string(value);
        self
    }

    fn list(&mut self, key: &str, values: &[&str]) -> &mut Self {
        self.0.push(',');
        self.key(key);
        self.0.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.string(value);
        }
        self.0.push(']');
        self
    }

    fn key(&mut self, key: &str) {
        self.string(key);
        self.0.push(':');
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control
    /// characters escaped, everything else as is.
    fn string(&mut self, s: &str) {
        self.0.push('"');
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                c if (c as u32) < 0x20 => self.0.push_str(&format!("\\u{:04x}", c as u32)),
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }

    fn into_message(mut self) -> Message {
        self.0.push('}');
        Message::Text(Utf8Bytes::from(self.0))
    }
}

/// The answer to a plain HTTP request: the page, its script, or an error.
fn page_response(request: &PlainRequest) -> Vec<u8> {
    if request.method != "GET" && request.method != "HEAD" {
        let allow = [("Allow".to_string(), "GET, HEAD".to_string())];
        return reject_response(405, &allow, b"method not allowed\n");
    }
    let path = request.path.split('?').next().unwrap_or("");
    let (content_type, body) = match path {
        "/" => ("text/html; charset=utf-8", PAGE),
        "/chat.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => return reject_response(404, &[], b"not found\n"),
    };
    let headers: Vec<(String, String)> = [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        // Only this server's script, styles inline in the page, and
        // WebSockets back to this server.
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'",
        ),
    ]
    .iter()
    .map(|&(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let mut response = reject_response(200, &headers, body.as_bytes());
    if request.method == "HEAD" {
        response.truncate(response.len() - body.len());
    }
    response
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rfc6455 chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 1rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: .5rem; margin: .5rem 0; height: 60vh; overflow-y: auto;
         border: 1px solid #ccc; border-radius: 4px; }
  #log li { white-space: pre-wrap; overflow-wrap: anywhere; }
  #log .system { color: #666; font-style: italic; }
  #log .mine .from { color: #0a5; }
  .from { font-weight: 600; }
  form { display: flex; gap: .5rem; }
  #text { flex: 1; }
  #status { color: #666; font-size: 90%; }
</style>
</head>
<body>
<h1>rfc6455 chat</h1>
<p><label>Your name <input id="name" maxlength="32" autocomplete="off"></label>
   <span id="status">connecting…</span></p>
<ul id="log" aria-live="polite"></ul>
<form id="send">
  <input id="text" autocomplete="off" placeholder="Say something" maxlength="4000" autofocus>
  <button>Send</button>
</form>
<script src="/chat.js"></script>
</body>
</html>
"#;

const SCRIPT: &str = r#"'use strict';
// Chat client: plain WebSocket API, text only, everything shown with
// textContent so no message can inject markup.
const log = document.getElementById('log');
const nameInput = document.getElementById('name');
const statusLine = document.getElementById('status');
const form = document.getElementById('send');
const textInput = document.getElementById('text');

let myName = 'user-' + Math.random().toString(36).slice(2, 6);
nameInput.value = myName;
let ws = null;

function show(kind, from, text) {
  const li = document.createElement('li');
  li.className = kind;
  if (from !== null) {
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    li.append(who, ': ');
  }
  li.append(text);
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.appendChild(li);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function connect() {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('name', myName);
  ws = new WebSocket(url);
  ws.onopen = () => { statusLine.textContent = 'connected'; };
  ws.onmessage = (event) => {
    let m;
    try { m = JSON.parse(event.data); } catch { show('message', null, event.data); return; }
    switch (m.type) {
      case 'welcome':
        myName = m.name;
        nameInput.value = myName;
        show('system', null, 'You joined as ' + m.name + '. Here: ' + m.users.join(', '));
        break;
      case 'join': show('system', null, m.name + ' joined'); break;
      case 'leave': show('system', null, m.name + ' left'); break;
      case 'rename':
        if (m.from === myName) { myName = m.name; nameInput.value = myName; }
        show('system', null, m.from + ' is now ' + m.name);
        break;
      case 'message': show(m.from === myName ? 'message mine' : 'message', m.from, m.text); break;
    }
  };
  ws.onclose = (event) => {
    statusLine.textContent = 'disconnected (' + event.code + (event.reason ? ', ' + event.reason : '') +
      '); reconnecting in 2 s';
    setTimeout(connect, 2000);
  };
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value;
  if (text.trim() && ws && ws.readyState === WebSocket.OPEN) {
    ws.send(text);
    textInput.value = '';
  }
});

nameInput.addEventListener('change', () => {
  const wanted = nameInput.value.trim();
  if (wanted && wanted !== myName && ws && ws.readyState === WebSocket.OPEN) ws.send('/nick ' + wanted);
});

connect();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_queries() {
        assert_eq!(name_from_query("name=ann"), Some("ann".into()));
        assert_eq!(
            name_from_query("x=1&name=J%C3%BCrg+M"),
            Some("Jürg M".into())
        );
        assert_eq!(name_from_query("name=%0a%20"), None);
        assert_eq!(name_from_query("name=100%"), Some("100%".into()));
        assert_eq!(name_from_query("name=%zz"), Some("%zz".into()));
        assert_eq!(name_from_query("other=1"), None);
        let long = "n".repeat(100);
        assert_eq!(clean_name(&long).map(|n| n.len()), Some(MAX_NAME));
    }

    #[test]
    fn json_escapes() {
        let mut json = Json::new("message");
        json.field("text", "a\"b\\c\n\u{1}<é>");
        let message = json.into_message();
        assert_eq!(
            message.as_text(),
            Some(r#"{"type":"message","text":"a\"b\\c\n\u0001<é>"}"#)
        );
    }

    #[test]
    fn slow_members_are_dropped() {
        let room = Room::default();
        let (fast_tx, fast_rx) = mpsc::sync_channel(QUEUE_LEN * 2);
        let (slow_tx, _slow_rx) = mpsc::sync_channel(1);
        let fast = room.join(Some("fast".into()), fast_tx);
        room.join(Some("slow".into()), slow_tx); // the welcome fills its queue
        room.say(fast, "hi");
        assert_eq!(room.lock().len(), 1);
        let texts: Vec<String> = fast_rx
            .try_iter()
            .map(|m| m.as_text().unwrap_or_default().to_string())
            .collect();
        assert!(texts
            .iter()
            .any(|t| t.contains(r#""type":"leave","name":"slow""#)));
    }
}
