//! `smtpdcheck --sendmail-socketmap`: the socket map service for
//! Sendmail's `Local_check_rcpt` recipe (packaging/examples/sendmail.mc).
//!
//! Long-lived: it serves every connection to the socket it is given, from
//! systemd (`LISTEN_FDS`, the `smtpbox-socketmap.socket` unit) or as stdin
//! (a listening socket, as inetd's `wait` mode gives it; or one connected
//! socket, as `Accept=yes` or inetd's `nowait` do). Each sendmail process
//! keeps one connection and asks one key at a time on it; connections are
//! served side by side on one runtime, sharing the engine's memory.
//!
//! The key is the recipient's domain: `OK MX` while a more preferred MX
//! of it is up (the recipe then defers with 451 naming it), else
//! `NOTFOUND`. It fails open: a lookup failure, a timeout or a key with no
//! domain is `NOTFOUND`, logged to syslog; a connection that breaks the
//! framing is closed (the recipe's `-T<TMPF>` lets the recipient through).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

use super::engine::{Decision, Engine};
use super::socketmap::{MAX_REQUEST_FRAME, Reply, Request, next_request};
use super::streams::standard_streams;
use crate::report::Reporter;

/// sd_listen_fds(3): the first descriptor passed by systemd.
const SD_LISTEN_FDS_START: RawFd = 3;
/// The most connections served at once (each sendmail process holds
/// one); a connection beyond them is closed at once, and sendmail's
/// lookup fails open.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long `accept` pauses when the process is out of descriptors or
/// memory (unless a connection ends first).
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
/// How much is read from a connection at once.
const READ_CHUNK: usize = 4096;

/// Where the connections come from ([`given_socket`]).
pub enum Socket {
    /// A listening socket.
    Listening(OwnedFd),
    /// stdin/stdout are one connection already.
    Connected,
}

/// A listening socket on the runtime.
enum Listener {
    Unix(tokio::net::UnixListener),
    /// sendmail's `inet:PORT@HOST` maps.
    Tcp(tokio::net::TcpListener),
}

/// Serves until the listening socket fails (or the one connection ends).
pub async fn serve(engine: Rc<Engine>, socket: Socket, reporter: &Reporter) -> io::Result<()> {
    let socket = match socket {
        Socket::Listening(fd) => listening(fd)?,
        Socket::Connected => {
            let (input, output) = standard_streams()?;
            connection(&engine, tokio::io::join(input, output), reporter).await;
            return Ok(());
        }
    };
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = accept(&socket) => accepted,
            Some(_) = connections.join_next() => continue,
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(err) if err.raw_os_error() == Some(libc::ECONNABORTED) => continue,
            Err(err) if is_out_of_resources(&err) => {
                // The connection stays queued: accepting again at once
                // would fail again at once. Wait for one to end, or a
                // moment.
                reporter.error(format_args!("accept: {err}"));
                let pause = tokio::time::sleep(ACCEPT_PAUSE);
                tokio::select! {
                    _ = pause => {}
                    Some(_) = connections.join_next() => {}
                }
                continue;
            }
            Err(err) => return Err(err),
        };
        if connections.len() >= MAX_CONNECTIONS {
            reporter.error(format_args!(
                "connection closed: {MAX_CONNECTIONS} connections already served"
            ));
            continue; // dropped: closed
        }
        let (engine, reporter) = (Rc::clone(&engine), reporter.clone());
        connections.spawn_local(async move { connection(&engine, stream, &reporter).await });
    }
}

/// An accepted connection, whichever the socket's family.
type Stream = Box<dyn AsyncStream>;
trait AsyncStream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> AsyncStream for T {}

async fn accept(listener: &Listener) -> io::Result<Stream> {
    match listener {
        Listener::Unix(listener) => Ok(Box::new(listener.accept().await?.0)),
        Listener::Tcp(listener) => Ok(Box::new(listener.accept().await?.0)),
    }
}

/// accept(2) errors that leave the socket usable once resources free up.
fn is_out_of_resources(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves one sendmail process's requests, in order, until it closes the
/// connection or breaks the framing.
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    engine: &Engine,
    mut stream: S,
    reporter: &Reporter,
) {
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut replies = Vec::new();
    loop {
        let mut start = 0;
        loop {
            match next_request(&buffer[start..]) {
                Ok(Some((request, used))) => {
                    start += used;
                    let reply = match request {
                        Ok(request) => answer(engine, &request, reporter).await,
                        Err(error) => Reply::perm(&error.to_string()),
                    };
                    reply.render_into(&mut replies);
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = stream.write_all(&replies).await;
                    reporter.error(format_args!("connection closed: {error}"));
                    return;
                }
            }
        }
        buffer.drain(..start);
        if !replies.is_empty() {
            if stream.write_all(&replies).await.is_err() || stream.flush().await.is_err() {
                return;
            }
            replies.clear();
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
        // next_request never waits for more than one frame.
        debug_assert!(buffer.len() <= MAX_REQUEST_FRAME + READ_CHUNK);
    }
}

/// The reply to one lookup: `OK MX` to defer, `NOTFOUND` for anything
/// else (failing open).
async fn answer(engine: &Engine, request: &Request<'_>, reporter: &Reporter) -> Reply {
    let Some(domain) = request.domain() else {
        reporter.detail(format_args!(
            "{}: NOTFOUND (no domain)",
            String::from_utf8_lossy(request.key).escape_debug()
        ));
        return Reply::not_found();
    };
    let decided = match engine.decide_now(&domain, None) {
        Some(decision) => Ok(decision),
        None => engine.decide(&domain, None).await,
    };
    match decided {
        Ok(Decision::Defer(server)) => {
            reporter.info(format_args!(
                "{domain}: OK: the more preferred MX {server} is up"
            ));
            Reply::ok(&server)
        }
        Ok(Decision::Accept) => {
            reporter.detail(format_args!("{domain}: NOTFOUND"));
            Reply::not_found()
        }
        Err(trouble) => {
            reporter.error(format_args!("{domain}: NOTFOUND: {trouble}"));
            Reply::not_found()
        }
    }
}

/// The socket to serve: systemd's, else stdin; `Err` when there is none
/// (checked before the service starts, so it is said on stderr).
pub fn given_socket() -> io::Result<Socket> {
    if let Some(fd) = systemd_socket() {
        return Ok(Socket::Listening(fd));
    }
    // SAFETY: fd 0 is kept open by main for the whole run.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    if !is_socket(stdin) {
        return Err(io::Error::other(
            "no socket: give one from systemd (LISTEN_FDS) or as stdin",
        ));
    }
    if !accepts_connections(stdin) {
        return Ok(Socket::Connected);
    }
    Ok(Socket::Listening(stdin.try_clone_to_owned()?))
}

/// sd_listen_fds(3): the first socket systemd passed to this process.
fn systemd_socket() -> Option<OwnedFd> {
    let count: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_none_or(|pid| pid == std::process::id());
    if count == 0 || !for_us {
        return None;
    }
    // SAFETY: systemd passed descriptors from 3 on; the first is ours.
    let fd = unsafe { BorrowedFd::borrow_raw(SD_LISTEN_FDS_START) };
    is_socket(fd)
        .then(|| fd.try_clone_to_owned().ok())
        .flatten()
}

/// A listening socket on the runtime, UNIX or TCP by its family.
fn listening(fd: OwnedFd) -> io::Result<Listener> {
    if socket_option(fd.as_raw_fd(), libc::SO_DOMAIN) == Some(libc::AF_UNIX) {
        let listener = std::os::unix::net::UnixListener::from(fd);
        listener.set_nonblocking(true)?;
        return tokio::net::UnixListener::from_std(listener).map(Listener::Unix);
    }
    let listener = std::net::TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(listener).map(Listener::Tcp)
}

fn is_socket(fd: BorrowedFd<'_>) -> bool {
    socket_option(fd.as_raw_fd(), libc::SO_TYPE).is_some()
}

/// SO_ACCEPTCONN: whether the socket is listening.
fn accepts_connections(fd: BorrowedFd<'_>) -> bool {
    socket_option(fd.as_raw_fd(), libc::SO_ACCEPTCONN) == Some(1)
}

/// An integer socket option; `None` when `fd` is no socket.
fn socket_option(fd: RawFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into an int-sized buffer whose size is passed.
    let result = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut length,
        )
    };
    (result == 0).then_some(value)
}
