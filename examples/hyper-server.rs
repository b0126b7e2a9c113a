//! A hyper 1.x server with a page on `/` and a WebSocket echo on `/ws`, on
//! one port: the tokio adapter's upgrade path.
//!
//! ```sh
//! cargo run --release --features hyper --example hyper-server -- 127.0.0.1:8081
//! ```
//! Open `http://127.0.0.1:8081/`: the page connects to `/ws` and echoes
//! what you type. hyper parses every request; `/ws` is handed to
//! `rfc6455::tokio::hyper::upgrade`, whose `decide` step sees the request's
//! headers: it refuses cross-origin pages (403), picks the `echo`
//! subprotocol when offered, and honours `?close=CODE&reason=TEXT` by
//! closing with that code after the first echo (the interop tests use it).

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use rfc6455::tokio::hyper::{upgrade, TokioIo, UpgradedStream};
use rfc6455::tokio::{Rejection, WebSocket};
use rfc6455::{AcceptOptions, CloseCode, Config, Error};
use std::convert::Infallible;

#[path = "support/close_request.rs"]
mod close_request;
use tokio::net::TcpListener;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>rfc6455 on hyper</title>
<p>Status: <span id="status">connecting</span></p>
<form id="form"><input id="text" autocomplete="off" placeholder="say something"> <button>send</button></form>
<ul id="log"></ul>
<script>
const status = document.getElementById('status');
const log = document.getElementById('log');
const ws = new WebSocket(`ws://${location.host}/ws`, ['echo']);
ws.onopen = () => { status.textContent = 'connected'; ws.send('hello from the page'); };
ws.onmessage = (event) => {
  const li = document.createElement('li');
  li.textContent = event.data;
  log.append(li);
  status.textContent = 'echoed';
};
ws.onclose = (event) => { status.textContent = `closed (${event.code})`; };
document.getElementById('form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  ws.send(input.value);
  input.value = '';
};
</script>
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "hyper-server listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service_fn(route))
                .with_upgrades()
                .await;
            if let Err(e) = served {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn route(mut request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    match request.uri().path() {
        "/" => {
            let mut response = Response::new(PAGE.to_string());
            response
                .headers_mut()
                .insert("content-type", "text/html; charset=utf-8".parse().unwrap());
            Ok(response)
        }
        "/ws" => {
            let host = request
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let config = Config::default().with_max_size(16 << 20);
            let mut close = None;
            let decide = |req: &rfc6455::Request| {
                close = close_request::requested_close(req);
                decide(req, &host)
            };
            match upgrade(&mut request, config, decide) {
                Ok((response, pending)) => {
                    tokio::spawn(async move {
                        match pending.await {
                            Ok(socket) => {
                                if let Err(e) = echo(socket, close).await {
                                    eprintln!("websocket: {e}");
                                }
                            }
                            Err(e) => eprintln!("upgrade: {e}"),
                        }
                    });
                    Ok(response)
                }
                Err(refusal) => Ok(refusal),
            }
        }
        _ => {
            let mut response = Response::new("not found\n".to_string());
            *response.status_mut() = StatusCode::NOT_FOUND;
            Ok(response)
        }
    }
}

/// Only pages served from this host may connect (a browser always sends
/// `Origin`; other clients may leave it out); pick `echo` when offered.
fn decide(request: &rfc6455::Request, host: &str) -> Result<AcceptOptions, Rejection> {
    if let Some(origin) = request.header("Origin") {
        let from_here = origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host);
        if !from_here {
            return Err(Rejection::new(403, "cross-origin WebSocket refused\n"));
        }
    }
    let protocol = request.protocols.iter().find(|p| p.as_str() == "echo");
    Ok(AcceptOptions {
        protocol: protocol.cloned(),
        ..AcceptOptions::default()
    })
}

/// Echo until the peer closes; with a requested close, close after the
/// first echo.
async fn echo(
    mut socket: WebSocket<UpgradedStream>,
    close: Option<(CloseCode, String)>,
) -> Result<(), Error> {
    loop {
        match socket.read().await {
            Ok(message) => {
                socket.send(message).await?;
                if let Some((code, reason)) = &close {
                    socket.close_and_wait(*code, reason).await?;
                    return Ok(());
                }
            }
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
