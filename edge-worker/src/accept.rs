//! Admission on a thread of its own.
//!
//! Accepting, TLS handshakes and the HTTP/1 upgrade run on a current-thread runtime
//! ("edge-accept") apart from the workers that run the connections. In one runtime, each step of
//! a new connection (accept, every handshake round trip, the upgrade request) is a task wake-up
//! queued behind every busy connection task, so under load a new connection waited many
//! run-queue rotations and was admitted seconds late, or its handshake timed out. On this thread
//! it only waits for the OS to schedule a thread that is nearly always idle.
//!
//! Once upgraded, a socket moves to the workers' runtime ([`rebind`]): its connection task runs
//! there, and the socket's readiness comes from that runtime's I/O driver, as before.

use std::io;
use std::os::fd::AsFd;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The admission runtime and its thread. Stopping it (or dropping it) ends every task on it;
/// connections already handed to the workers are not affected.
pub struct Acceptor {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Acceptor {
    pub fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("edge-accept")
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("edge-accept".into())
            .spawn(move || {
                // Runs the spawned tasks until told to stop; dropping the runtime drops them.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where admission tasks are spawned.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stops the runtime and waits for its thread (blocking: call it off the async workers).
    pub fn stop(mut self) {
        self.signal();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.signal();
    }
}

/// `listener`, registered with the current runtime's I/O driver instead of the one it was
/// created in (call it from a task of the runtime that will accept).
pub fn rebind_listener(listener: TcpListener) -> io::Result<TcpListener> {
    TcpListener::from_std(listener.into_std()?)
}

/// Moves `stream` to the current runtime's I/O driver (call it from a task of that runtime).
///
/// The socket is duplicated (`dup`: same open socket, new descriptor), the duplicate registered
/// here, and the old descriptor deregistered from its runtime and closed; the connection itself
/// is untouched. Works through a TLS stream via `get_mut`, so no TLS state has to be rebuilt.
pub fn rebind(stream: &mut TcpStream) -> io::Result<()> {
    let fd = stream.as_fd().try_clone_to_owned()?;
    // The duplicate shares the original's non-blocking flag (it belongs to the open socket).
    let moved = TcpStream::from_std(std::net::TcpStream::from(fd))?;
    drop(std::mem::replace(stream, moved));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A socket accepted on the admission runtime keeps working on the caller's runtime after
    /// `rebind`, in both directions, including bytes that arrived before the move.
    #[tokio::test]
    async fn a_rebound_socket_keeps_its_connection_and_its_pending_bytes() {
        let acceptor = Acceptor::start().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = acceptor.handle().spawn(async move {
            let listener = rebind_listener(listener).unwrap();
            listener.accept().await.unwrap().0
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"before").await.unwrap();
        let mut server = accepted.await.unwrap();
        rebind(&mut server).unwrap();
        let mut buf = [0u8; 6];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"before");
        client.write_all(b"after!").await.unwrap();
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"after!");
        server.write_all(b"reply").await.unwrap();
        let mut reply = [0u8; 5];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
        // Stopping admission does not touch the moved socket.
        tokio::task::spawn_blocking(move || acceptor.stop())
            .await
            .unwrap();
        server.write_all(b"still").await.unwrap();
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"still");
        drop(server);
        assert_eq!(
            client.read(&mut reply).await.unwrap(),
            0,
            "closed once dropped"
        );
    }
}
