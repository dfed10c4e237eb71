//! Accepting connections on the node's ports, with limits a hostile or careless client cannot
//! get around: a cap on open connections per port, a back-off when the process is out of file
//! descriptors (instead of an accept loop spinning at 100% CPU), and a timeout on writes that a
//! client stops reading (a stalled download or stream frees its connection).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// How long accepting waits after the process ran out of descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// Open connections on the port; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// A write the client does not take for this long closes the connection.
    pub write_stall: Duration,
}

/// An accepted TCP connection holding its slot of the port's connection cap.
pub struct Conn {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    write_stall: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Errors after which accepting again at once would fail the same way.
fn is_resource_error(e: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
}

/// Accepts on `listener` in a task of its own until the receiver is dropped.
pub fn accept(
    listener: TcpListener,
    limits: ConnLimits,
    port: &'static str,
) -> mpsc::Receiver<(Conn, SocketAddr)> {
    assert!(limits.max_connections > 0);
    let (ready, receiver) = mpsc::channel(1);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::spawn(async move {
        while !ready.is_closed() {
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => {
                    tracing::warn!(
                        port,
                        limit = limits.max_connections,
                        "connection cap reached; new connections wait"
                    );
                    match slots.clone().acquire_owned().await {
                        Ok(slot) => slot,
                        Err(_) => return,
                    }
                }
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) if is_resource_error(&e) => {
                        tracing::warn!(port, error = %e, "cannot accept: out of resources; backing off");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(port, error = %e, "accept failed");
                        continue;
                    }
                },
                _ = ready.closed() => return,
            };
            // Nagle's algorithm would hold small responses back for a delayed ACK (~40 ms).
            let _ = stream.set_nodelay(true);
            let conn = Conn {
                stream,
                _slot: slot,
                write_stall: limits.write_stall,
                stalled: None,
            };
            if ready.send((conn, peer)).await.is_err() {
                return;
            }
        }
    });
    receiver
}

impl Conn {
    /// Passes a write's result through, failing it once the client has taken nothing for
    /// `write_stall`.
    fn watch_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let stall = self.write_stall;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

use std::future::Future as _;

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch_write(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch_write(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}
