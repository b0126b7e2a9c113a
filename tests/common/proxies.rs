//! Real proxies for the proxy tests, started per test on free loopback
//! ports: tinyproxy (HTTP CONNECT) and microsocks (SOCKS5), both Debian
//! packages that `tests/proxy/run.sh` installs.
//!
//! Without the programs the tests that need them are skipped with a
//! message, unless `RFC6455_REQUIRE_PROXIES` is set (as the script sets
//! it), in which case a missing program fails them.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A proxy process, killed when dropped, and the port it listens on.
pub struct Proxy {
    child: Child,
    pub port: u16,
    _config: Option<TempFile>,
}

impl Proxy {
    /// `scheme://[credentials@]127.0.0.1:port`.
    pub fn url(&self, scheme: &str, credentials: &str) -> String {
        let at = if credentials.is_empty() { "" } else { "@" };
        format!("{scheme}://{credentials}{at}127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The program `name` on `PATH` (or in the sbin folders tinyproxy may
/// land in), or `None` after saying the test is skipped.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("RFC6455_REQUIRE_PROXIES").is_none(),
            "{name} is not installed and RFC6455_REQUIRE_PROXIES is set"
        );
        eprintln!("skipped: {name} is not installed (tests/proxy/run.sh installs it)");
    }
    found
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Start `command` (which listens on `port`) and wait until it accepts.
fn start(command: &mut Command, port: u16, config: Option<TempFile>) -> Proxy {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the proxy");
    let proxy = Proxy {
        child,
        port,
        _config: config,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the proxy never listened on {port}"
        );
        thread::sleep(Duration::from_millis(10));
    }
    proxy
}

/// tinyproxy on a free port, for clients on 127.0.0.1, with `extra`
/// configuration lines (e.g. `BasicAuth user pass`, `ConnectPort 9`).
/// Without `ConnectPort` lines it tunnels to any port.
pub fn tinyproxy(extra: &[&str]) -> Option<Proxy> {
    let program = program("tinyproxy")?;
    let port = free_port();
    let path = std::env::temp_dir().join(format!(
        "rfc6455-tinyproxy-{}-{port}.conf",
        std::process::id()
    ));
    let mut config = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Critical\nMaxClients 20\n"
    );
    for line in extra {
        config.push_str(line);
        config.push('\n');
    }
    std::fs::write(&path, config).unwrap();
    let file = TempFile(path.clone());
    // -d: stay in the foreground, so the child is the proxy itself.
    Some(start(
        Command::new(program).arg("-d").arg("-c").arg(&path),
        port,
        Some(file),
    ))
}

/// microsocks on a free port, requiring `credentials` if given.
pub fn microsocks(credentials: Option<(&str, &str)>) -> Option<Proxy> {
    let program = program("microsocks")?;
    let port = free_port();
    let mut command = Command::new(program);
    command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((user, password)) = credentials {
        command.args(["-u", user, "-P", password]);
    }
    Some(start(&mut command, port, None))
}

/// A hand-made HTTP proxy for one client: it reads (the start of) the
/// `CONNECT` request, then `answer` writes whatever the test needs. Its
/// `http://` URL, and the thread to join.
pub fn fake_http_proxy(
    answer: impl FnOnce(&mut TcpStream) + Send + 'static,
) -> (String, thread::JoinHandle<()>) {
    use std::io::Read;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = thread::spawn(move || {
        let mut tcp = super::accept_tcp(&listener);
        let mut request = [0u8; 512];
        let _ = tcp.read(&mut request);
        answer(&mut tcp);
    });
    (url, proxy)
}

/// A `wss://` echo server for one client on 127.0.0.1, with a certificate
/// for `localhost` signed by `ca`: its port, and the thread that ends with
/// the number of messages echoed.
#[cfg(feature = "rustls")]
pub fn spawn_tls_echo_server(ca: &super::certs::Ca) -> (u16, thread::JoinHandle<usize>) {
    let tls = super::certs::server_config(ca.leaf(&["localhost"]));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let tcp = super::accept_tcp(&listener);
        let mut ws = rfc6455::blocking::accept_tls(tcp, tls).unwrap();
        super::echo(&mut ws).unwrap()
    });
    (port, server)
}

/// A one-connection `https://` proxy on 127.0.0.1: TLS with a certificate
/// for `localhost` from `ca`, one `CONNECT`, then bytes relayed both ways
/// until the server closes (then `close_notify` to the client).
#[cfg(feature = "rustls")]
pub fn spawn_https_proxy(ca: &super::certs::Ca) -> (u16, std::thread::JoinHandle<String>) {
    use rfc6455::rustls::{ServerConnection, StreamOwned};
    use std::io::{ErrorKind, Read, Write};
    let tls = super::certs::server_config(ca.leaf(&["localhost"]));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = std::thread::spawn(move || {
        let tcp = super::accept_tcp(&listener);
        let mut client = StreamOwned::new(ServerConnection::new(tls).unwrap(), tcp);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let target = head.split(' ').nth(1).unwrap().to_string();
        let mut server = TcpStream::connect(&target).unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        client.flush().unwrap();
        // One thread relays both ways, polling each side briefly.
        let tick = Some(std::time::Duration::from_millis(5));
        client.sock.set_read_timeout(tick).unwrap();
        server.set_read_timeout(tick).unwrap();
        let idle =
            |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        let deadline = Instant::now() + super::TIMEOUT;
        let mut buf = [0u8; 16 * 1024];
        while Instant::now() < deadline {
            match client.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => server.write_all(&buf[..n]).unwrap(),
                Err(e) if idle(&e) => {}
                Err(e) => panic!("proxy, client side: {e}"),
            }
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => client.write_all(&buf[..n]).unwrap(),
                Err(e) if idle(&e) => {}
                Err(e) => panic!("proxy, server side: {e}"),
            }
        }
        client.conn.send_close_notify();
        let _ = client.flush();
        head
    });
    (port, proxy)
}

/// `error` is an `https://` proxy's certificate refused as untrusted.
#[cfg(feature = "rustls")]
pub fn assert_untrusted_certificate(error: &rfc6455::ProxyError) {
    assert!(
        matches!(
            error.kind(),
            rfc6455::proxy::ProxyErrorKind::Tls(rfc6455::rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
}

/// The request head an in-test proxy received asks for a tunnel to `target`.
pub fn assert_connect_to(request: &str, target: &str) {
    assert!(
        request.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
        "{request}"
    );
}
