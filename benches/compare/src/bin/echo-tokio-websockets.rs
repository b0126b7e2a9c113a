//! Echo server on tokio-websockets, on a single-threaded tokio runtime.
//!
//! ```sh
//! echo-tokio-websockets [ADDR]   # default 127.0.0.1:9004
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_websockets::{Limits, ServerBuilder};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9004".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!(
            "echo-tokio-websockets listening on ws://{}",
            listener.local_addr()?
        );
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let builder =
                    ServerBuilder::new().limits(Limits::default().max_payload_len(Some(64 << 20)));
                let Ok((_, mut ws)) = builder.accept(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    // Pings are answered and closes replied to by the stream.
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    })
}
