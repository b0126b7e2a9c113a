//! Echo server on tokio-websockets, on a single-threaded tokio runtime.
//!
//! ```sh
//! echo-tokio-websockets [ADDR]   # default 127.0.0.1:9004
//! ```

#[path = "../single_thread.rs"]
mod single_thread;

use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{Limits, ServerBuilder};

fn main() -> std::io::Result<()> {
    single_thread::serve(
        "echo-tokio-websockets",
        "127.0.0.1:9004",
        |stream| async move {
            let builder =
                ServerBuilder::new().limits(Limits::default().max_payload_len(Some(64 << 20)));
            let Ok((_, mut ws)) = builder.accept(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                // Pings are answered and closes replied to by the stream.
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        },
    )
}
