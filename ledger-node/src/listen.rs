//! Accepting connections on the node's ports, with limits a hostile or careless client cannot
//! get around: a cap on open connections per port, a back-off when the process is out of file
//! descriptors (instead of an accept loop spinning at 100% CPU), a deadline for a new
//! connection's first bytes, a close when nothing moves either way for too long (a request body
//! that never comes), and a timeout on writes that a client stops reading (a stalled download
//! or stream frees its connection): no client holds a slot of the cap for long for nothing.

use std::future::Future as _;
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
    /// A connection that sends nothing for this long after it opens is closed (a client that
    /// never starts its request or its HTTP/2 handshake).
    pub first_byte: Duration,
    /// A connection on which nothing moves either way for this long is closed (a request body
    /// that never comes). Live streams stay busier than this: Subscribe sends a checkpoint as a
    /// heartbeat, and HTTP/2 pings its peers.
    pub idle: Duration,
}

/// An accepted TCP connection holding its slot of the port's connection cap.
pub struct Conn {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    limits: ConnLimits,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    /// When the connection opened, when it last moved data, and whether it ever received any.
    opened: tokio::time::Instant,
    last_activity: tokio::time::Instant,
    received: bool,
    idle_timer: Pin<Box<tokio::time::Sleep>>,
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
            let now = tokio::time::Instant::now();
            let conn = Conn {
                stream,
                _slot: slot,
                limits,
                stalled: None,
                opened: now,
                last_activity: now,
                received: false,
                idle_timer: Box::pin(tokio::time::sleep_until(now + limits.first_byte)),
            };
            if ready.send((conn, peer)).await.is_err() {
                return;
            }
        }
    });
    receiver
}

impl Conn {
    fn moved(&mut self) {
        self.last_activity = tokio::time::Instant::now();
    }

    /// When the connection is closed if nothing moves. Before the client sent anything, from
    /// when it opened: what the server writes (its HTTP/2 settings, pings) does not extend it.
    fn idle_deadline(&self) -> tokio::time::Instant {
        if self.received {
            self.last_activity + self.limits.idle
        } else {
            self.opened + self.limits.first_byte.min(self.limits.idle)
        }
    }

    /// A read found nothing to read: fails it once the connection has been idle too long.
    fn watch_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let deadline = self.idle_deadline();
        if self.idle_timer.deadline() != deadline {
            self.idle_timer.as_mut().reset(deadline);
        }
        match self.idle_timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                if self.received {
                    "nothing moved on the connection for too long"
                } else {
                    "the client sent nothing after connecting"
                },
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Passes a write's result through, failing it once the client has taken nothing for
    /// `write_stall`.
    fn watch_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            self.moved();
            return poll;
        }
        let stall = self.limits.write_stall;
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

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.received = true;
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => self.watch_idle(cx),
            ready => ready,
        }
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
