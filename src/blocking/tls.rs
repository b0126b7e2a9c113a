//! `wss://` with rustls (feature `rustls`).
//!
//! The TLS handshake is finished before the WebSocket one starts, so a
//! refused certificate is reported as [`Error::Tls`] by the call that
//! connects or accepts, not by the first read. Errors that rustls raises
//! later, inside its stream's `io::Error`s, become [`Error::Tls`] too.

use super::handshake::{accept_with, client_after, Rejection};
use super::proxy::Route;
use super::{BlockingTransport, MaybeTlsStream, WebSocket};
use crate::config::Config;
use crate::error::Error;
use crate::handshake::{AcceptOptions, ClientOptions, Request, WsUrl};
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig,
    ServerConnection, SideData, StreamOwned,
};
use std::io;
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A TLS client session over TCP, as [`connect_tls`] opens it.
pub type TlsClientStream = StreamOwned<ClientConnection, TcpStream>;

/// A TLS server session over TCP, as [`accept_tls`] wraps it.
pub type TlsServerStream = StreamOwned<ServerConnection, TcpStream>;

/// The ALPN protocol a WebSocket handshake runs over (RFC 6455 §4.1: an
/// HTTP/1.1 upgrade).
const HTTP_1_1: &[u8] = b"http/1.1";

/// The client configuration `wss://` URLs get from
/// [`connect`](super::connect): the `ring` provider, TLS 1.2 and 1.3, the
/// Mozilla root store compiled in (`webpki-roots`), no client certificate,
/// ALPN `http/1.1`. Clone it (`(*default_tls_config()).clone()`) as a
/// starting point for your own.
pub fn default_tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            tls_config_with_roots(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        })
        .clone()
}

/// The [`default_tls_config`] with `roots` trusted instead of the Mozilla
/// roots: for servers whose certificates a private CA signs.
pub fn tls_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    // The provider is named rather than taken from the process default,
    // which is ambiguous when another crate in the build enables a second
    // provider.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring's default provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Arc::new(config)
}

/// Connect with your own TLS configuration: custom roots, client
/// certificates, another provider. `ws://` URLs connect without TLS, so this
/// is a drop-in for [`connect_with`](super::connect_with).
///
/// If the configuration offers ALPN protocols, the server must pick
/// `http/1.1` (or none): the WebSocket handshake is an HTTP/1.1 upgrade.
///
/// ```no_run
/// use rfc6455::blocking;
/// use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
/// use rfc6455::rustls::RootCertStore;
///
/// let mut roots = RootCertStore::empty();
/// roots.add(CertificateDer::from_pem_file("ca.pem").expect("a PEM certificate"))?;
/// let ws = blocking::connect_tls(
///     "wss://internal.example:8443/feed",
///     blocking::tls_config_with_roots(roots),
///     Default::default(),
///     Default::default(),
/// )?;
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub fn connect_tls(
    url: &str,
    tls: Arc<ClientConfig>,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let parsed = WsUrl::parse(url)?;
    if !parsed.secure {
        let (route, leftover) = super::proxy::open(&parsed, &options, Some(&tls))?;
        return client_after(route.into(), &parsed, options, config, &leftover);
    }
    connect_parsed(&parsed, tls, options, config)
}

/// A client TLS session for the URL's host (its SNI name and the name the
/// certificate must carry), shared by both adapters.
pub(crate) fn client_session(
    url: &WsUrl,
    tls: Arc<ClientConfig>,
) -> Result<ClientConnection, Error> {
    client_session_for(&url.host, tls)
}

/// A client TLS session for `host`.
pub(crate) fn client_session_for(
    host: &str,
    tls: Arc<ClientConfig>,
) -> Result<ClientConnection, Error> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    Ok(ClientConnection::new(tls, name)?)
}

/// A WebSocket handshake is HTTP/1.1 (RFC 6455 §4.1): a server that
/// negotiated another ALPN protocol would not understand it.
pub(crate) fn check_alpn(session: &ClientConnection) -> Result<(), Error> {
    match session.alpn_protocol() {
        Some(protocol) if protocol != HTTP_1_1 => {
            let protocol = String::from_utf8_lossy(protocol).into_owned();
            Err(Error::Tls(rustls::Error::General(format!(
                "server chose ALPN protocol {protocol:?}; WebSocket needs http/1.1"
            ))))
        }
        _ => Ok(()),
    }
}

/// TCP (through the proxy the options select, if any), then TLS with SNI
/// for the URL's host, then the WebSocket handshake.
pub(super) fn connect_parsed(
    parsed: &WsUrl,
    tls: Arc<ClientConfig>,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let session = client_session(parsed, tls.clone())?;
    let stream = match super::proxy::open(parsed, &options, Some(&tls))? {
        (Route::Tcp(tcp), early) => {
            MaybeTlsStream::Rustls(Box::new(tls_over(session, tcp, &early)?))
        }
        (Route::Tls(to_proxy), early) => {
            MaybeTlsStream::RustlsInTls(Box::new(tls_over(session, *to_proxy, &early)?))
        }
    };
    client_after(stream, parsed, options, config, &[])
}

/// TLS over `transport` with `session`, its handshake finished (so
/// certificate errors surface here) and its ALPN choice checked. `early`:
/// bytes the server sent before we spoke, already read (a proxy's
/// leftovers).
pub(super) fn tls_over<T: BlockingTransport>(
    mut session: ClientConnection,
    transport: T,
    early: &[u8],
) -> Result<StreamOwned<ClientConnection, T>, Error> {
    receive_early(&mut session, early)?;
    let mut stream = StreamOwned::new(session, transport);
    finish_tls_handshake(&mut stream)?;
    if let Err(e) = check_alpn(&stream.conn) {
        let _ = stream.shutdown();
        return Err(e);
    }
    Ok(stream)
}

/// Hand `session` the bytes of the server's that came before the stream
/// was ours (what a proxy passed on after its reply).
pub(crate) fn receive_early(session: &mut ClientConnection, mut early: &[u8]) -> Result<(), Error> {
    while !early.is_empty() {
        session.read_tls(&mut early)?;
        session.process_new_packets()?;
    }
    Ok(())
}

/// Accept `wss://` on a TCP connection with default WebSocket settings:
/// the TLS handshake with `tls`, then the upgrade.
pub fn accept_tls(
    tcp: TcpStream,
    tls: Arc<ServerConfig>,
) -> Result<WebSocket<TlsServerStream>, Error> {
    accept_tls_with(
        tcp,
        tls,
        Config::default(),
        |_| Ok(AcceptOptions::default()),
    )
}

/// As [`accept_tls`], with the choices of [`accept_with`].
pub fn accept_tls_with<F>(
    tcp: TcpStream,
    tls: Arc<ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocket<TlsServerStream>, Error>
where
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let mut stream = StreamOwned::new(ServerConnection::new(tls)?, tcp);
    if let Err(error) = finish_tls_handshake(&mut stream) {
        // Our alert, if any, went out with the failure; just drop TCP.
        let _ = BlockingTransport::shutdown(&mut stream.sock);
        return Err(error);
    }
    accept_with(stream, config, decide)
}

/// Run the TLS handshake to its end, so certificate errors surface here.
fn finish_tls_handshake<C, S, T>(stream: &mut StreamOwned<C, T>) -> Result<(), Error>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: io::Read + io::Write,
{
    while stream.conn.is_handshaking() {
        match stream.conn.complete_io(&mut stream.sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A TCP close mid-handshake comes back as UnexpectedEof, so
            // this loop always ends.
            Err(e) => return Err(Error::from(e)),
        }
    }
    Ok(())
}

/// TLS over any [`BlockingTransport`]: closing sends `close_notify` before closing
/// the transport; read timeouts are the transport's.
impl<C, S, T> BlockingTransport for StreamOwned<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: BlockingTransport,
{
    fn shutdown(&mut self) -> io::Result<()> {
        // RFC 8446 §6.1: close_notify tells the peer the end is deliberate,
        // not a truncation.
        self.conn.send_close_notify();
        let mut sent = Ok(());
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    sent = Err(e);
                    break;
                }
            }
        }
        // Close the transport even if the alert could not be sent.
        let closed = BlockingTransport::shutdown(&mut self.sock);
        sent.and(closed)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.read_timeout()
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }
}
