//! The accept loop shared by the async peers' echo servers: one
//! single-threaded tokio runtime, one task per connection.

use std::future::Future;
use tokio::net::{TcpListener, TcpStream};

/// Listen on the address given as the first argument (or `default_addr`)
/// and run `handle` on every accepted connection, with Nagle off.
pub fn serve<F, Fut>(name: &str, default_addr: &str, handle: F) -> std::io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default_addr.into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!("{name} listening on ws://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(handle(stream));
        }
    })
}
