//! The mio adapter over TLS (rustls) on loopback: server and client roles,
//! against the blocking adapter's TLS peers and against each other, with
//! certificates made per test (tests/common/certs.rs).
#![cfg(all(feature = "mio", feature = "rustls"))]

mod common;

use common::certs::{server_config, Ca};
use common::mio_loop::{echo, run};
use rfc6455::blocking;
use rfc6455::mio::{Options, SocketEvent, TlsServerStream, TlsStream, WebSocket};
use rfc6455::rustls::{ClientConfig, ServerConfig, ServerConnection};
use rfc6455::{ClientOptions, CloseCode, Config, Error, Message, State};
use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);
const MIB: usize = 1 << 20;

fn options() -> Options {
    Options {
        config: Config::default().with_max_size(32 << 20),
        ..Options::default()
    }
}

/// A one-connection mio TLS server on 127.0.0.1 reacting with `react`.
/// Returns the port and the connection's final state.
fn mio_server<F>(tls: Arc<ServerConfig>, react: F) -> (u16, JoinHandle<Result<State, Error>>)
where
    F: FnMut(&mut WebSocket<TlsServerStream>, SocketEvent, &mut VecDeque<Message>) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().map_err(Error::Io)?;
        tcp.set_nonblocking(true).map_err(Error::Io)?;
        let session = ServerConnection::new(tls)?;
        let stream = TlsStream::new(session, mio::net::TcpStream::from_std(tcp));
        let ws = run(WebSocket::accept(stream, &options()), BOUND, react)?;
        Ok(ws.state())
    });
    (port, server)
}

fn mio_client(port: u16, tls: Arc<ClientConfig>) -> WebSocket<rfc6455::mio::TlsClientStream> {
    let url = format!("wss://127.0.0.1:{port}/");
    WebSocket::connect_tls(&url, tls, ClientOptions::default(), &options()).unwrap()
}

fn blocking_client(port: u16, ca: &Ca) -> blocking::WebSocket<blocking::MaybeTlsStream> {
    let url = format!("wss://127.0.0.1:{port}/");
    let config = Config::default().with_max_size(32 << 20);
    let ws =
        blocking::connect_tls(&url, ca.client_config(), ClientOptions::default(), config).unwrap();
    ws.get_ref().set_read_timeout(Some(BOUND)).unwrap();
    ws
}

/// A one-connection blocking TLS server running `handle`.
fn blocking_server<T, H>(tls: Arc<ServerConfig>, handle: H) -> (u16, JoinHandle<T>)
where
    T: Send + 'static,
    H: FnOnce(blocking::WebSocket<blocking::TlsServerStream>) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(BOUND)).unwrap();
        let config = Config::default().with_max_size(32 << 20);
        let ws = blocking::accept_tls_with(tcp, tls, config, |_| Ok(Default::default())).unwrap();
        handle(ws)
    });
    (port, server)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn mio_server_over_tls_with_a_blocking_client() {
    let ca = Ca::new("test CA");
    let (port, server) = mio_server(server_config(ca.leaf(&["127.0.0.1"])), echo);
    let mut ws = blocking_client(port, &ca);
    common::assert_echo_then_clean_close(&mut ws);
    assert_eq!(
        server.join().unwrap().unwrap(),
        State::Closed { clean: true }
    );
}

#[test]
fn mio_client_over_tls_against_a_blocking_server() {
    let ca = Ca::new("test CA");
    let (port, server) = blocking_server(server_config(ca.leaf(&["127.0.0.1"])), |mut ws| {
        common::echo(&mut ws).unwrap()
    });
    let mut got = Vec::new();
    let ws = run(
        mio_client(port, ca.client_config()),
        BOUND,
        |ws, event, _| match event {
            SocketEvent::Open => ws.send(Message::text("from a mio TLS client")).unwrap(),
            SocketEvent::Message(message) => {
                got.push(message);
                ws.close(CloseCode::NORMAL, "done").unwrap();
            }
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(got, vec![Message::text("from a mio TLS client")]);
    assert_eq!(ws.state(), State::Closed { clean: true });
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn mio_client_refuses_an_untrusted_server_with_a_tls_error() {
    let ca = Ca::new("test CA");
    let stranger = Ca::new("someone else's CA");
    let (port, _server) = mio_server(server_config(stranger.leaf(&["127.0.0.1"])), echo);
    match run(mio_client(port, ca.client_config()), BOUND, |_, _, _| {}) {
        Err(Error::Tls(e)) => assert!(format!("{e}").contains("UnknownIssuer"), "{e}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn four_mebibytes_between_mio_client_and_mio_server_over_tls() {
    let ca = Ca::new("test CA");
    let (port, server) = mio_server(server_config(ca.leaf(&["127.0.0.1"])), echo);
    let payload = pattern(4 * MIB);
    let sent = payload.clone();
    let mut echoed = None;
    let ws = run(
        mio_client(port, ca.client_config()),
        BOUND,
        |ws, event, _| match event {
            SocketEvent::Open => ws.send(Message::binary(sent.clone())).unwrap(),
            SocketEvent::Message(message) => {
                echoed = Some(message);
                ws.close(CloseCode::NORMAL, "").unwrap();
            }
            _ => {}
        },
    )
    .unwrap();
    let echoed = echoed.expect("the echo arrived");
    assert!(echoed.as_bytes() == payload.as_slice());
    assert_eq!(ws.state(), State::Closed { clean: true });
    assert_eq!(
        server.join().unwrap().unwrap(),
        State::Closed { clean: true }
    );
}

// The client never sends a message: its TLS still has to write (handshake,
// close reply) while the application only reads, and the server's 4 MiB
// burst meets a reader that starts late, so rustls's buffer fills and its
// backpressure (WouldBlock from the stream) reaches the adapter.
#[test]
fn peer_that_only_reads_gets_a_burst_over_tls() {
    let ca = Ca::new("test CA");
    let chunks = 64usize;
    let (port, server) = mio_server(
        server_config(ca.leaf(&["127.0.0.1"])),
        move |ws, event, backlog| {
            if event == SocketEvent::Open {
                for i in 0..chunks {
                    let mut chunk = pattern(64 * 1024);
                    chunk[0] = i as u8;
                    backlog.push_back(Message::binary(chunk));
                }
                // Queued after the burst: sent once the backlog is out.
                backlog.push_back(Message::text("end"));
            }
            if let SocketEvent::Message(m) = &event {
                assert_eq!(m.as_text(), Some("bye"));
                ws.close(CloseCode::NORMAL, "").unwrap();
            }
        },
    );
    let mut ws = blocking_client(port, &ca);
    thread::sleep(Duration::from_millis(300));
    for i in 0..chunks {
        let message = ws.read().unwrap();
        assert_eq!(message.len(), 64 * 1024);
        assert_eq!(message.as_bytes()[0], i as u8);
    }
    assert_eq!(ws.read().unwrap().as_text(), Some("end"));
    ws.send(Message::text("bye")).unwrap();
    match ws.read() {
        Err(Error::Closed { clean: true, .. }) => {}
        other => panic!("not a clean close: {other:?}"),
    }
    assert_eq!(
        server.join().unwrap().unwrap(),
        State::Closed { clean: true }
    );
}

#[test]
fn mio_client_that_only_reads_over_tls() {
    let ca = Ca::new("test CA");
    let (port, server) = blocking_server(server_config(ca.leaf(&["127.0.0.1"])), |mut ws| {
        for i in 0..3 {
            ws.send(Message::text(format!("news {i}"))).unwrap();
        }
        ws.close_and_wait(CloseCode::NORMAL, "that's all").unwrap();
        ws.state()
    });
    let mut got = Vec::new();
    let ws = run(
        mio_client(port, ca.client_config()),
        BOUND,
        |_, event, _| {
            if let SocketEvent::Message(message) = event {
                got.push(message);
            }
        },
    )
    .unwrap();
    let want: Vec<Message> = (0..3).map(|i| Message::text(format!("news {i}"))).collect();
    assert_eq!(got, want);
    assert_eq!(ws.state(), State::Closed { clean: true });
    assert_eq!(server.join().unwrap(), State::Closed { clean: true });
}
