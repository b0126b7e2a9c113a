//! A small wscat: send each line of standard input as a text message, print
//! every message that arrives on its own line.
//!
//! ```sh
//! cargo run --release --example client -- ws://127.0.0.1:9001
//! ```
//! At the end of input it closes with 1000 and exits 0 once the close
//! handshake is done.

use rfc6455::{blocking, CloseCode, Error, Message};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc;

enum Input {
    Line(String),
    End,
}

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client ws://HOST:PORT/PATH");
        return ExitCode::from(2);
    };
    let mut ws = match blocking::connect(&url) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("connect {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Standard input is read on its own thread; the socket is polled with a
    // short read timeout so incoming messages print while we wait for lines.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if tx.send(Input::Line(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::End);
    });
    let _ = ws
        .get_mut()
        .set_read_timeout(Some(std::time::Duration::from_millis(20)));
    let stdout = std::io::stdout();
    loop {
        loop {
            match rx.try_recv() {
                Ok(Input::Line(line)) => {
                    if let Err(e) = ws.send(Message::text(line)) {
                        eprintln!("send: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                Ok(Input::End) | Err(mpsc::TryRecvError::Disconnected) => {
                    return finish(ws, &stdout);
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        match ws.read() {
            Ok(message) => print_message(&stdout, &message),
            Err(Error::Io(e)) if is_timeout(&e) => continue,
            Err(Error::Closed { frame, .. }) => {
                eprintln!("server closed the connection: {frame:?}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("read: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// Close with 1000 and print what arrives until the server's close frame.
fn finish(mut ws: blocking::WebSocket<std::net::TcpStream>, stdout: &std::io::Stdout) -> ExitCode {
    if let Err(e) = ws.close(CloseCode::NORMAL, "") {
        eprintln!("close: {e}");
        return ExitCode::FAILURE;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match ws.read() {
            Ok(message) => print_message(stdout, &message),
            Err(Error::Closed { clean: true, .. }) => return ExitCode::SUCCESS,
            Err(Error::Io(e)) if is_timeout(&e) && std::time::Instant::now() < deadline => continue,
            Err(e) => {
                eprintln!("close handshake: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

fn print_message(stdout: &std::io::Stdout, message: &Message) {
    let mut out = stdout.lock();
    let _ = match message {
        Message::Text(text) => writeln!(out, "{text}"),
        Message::Binary(data) => writeln!(out, "<{} bytes of binary>", data.len()),
    };
    let _ = out.flush();
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
