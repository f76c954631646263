//! The standard descriptors as async streams, whatever they are
//! connected to: a socket (spawn(8), a socket unit), a pipe (OpenSMTPD's
//! proc-exec, a test), or a file or terminal.

use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

/// Where requests come from.
pub type Input = Pin<Box<dyn AsyncRead + Send>>;
/// Where answers go.
pub type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// stdin and stdout as async streams: a socket (as spawn(8) gives them)
/// or a pipe straight on the runtime, anything else (a file, a terminal)
/// through tokio's stdio and its blocking thread.
pub fn standard_streams() -> std::io::Result<(Input, Output)> {
    let input: Input = match kind_of(0) {
        Kind::Socket => Box::pin(unix_stream(duplicate(0)?)?),
        Kind::Pipe => Box::pin(pipe::Receiver::from_owned_fd(duplicate(0)?)?),
        Kind::Other => Box::pin(tokio::io::stdin()),
    };
    let output: Output = match kind_of(1) {
        Kind::Socket => Box::pin(unix_stream(duplicate(1)?)?),
        Kind::Pipe => Box::pin(pipe::Sender::from_owned_fd(duplicate(1)?)?),
        Kind::Other => Box::pin(tokio::io::stdout()),
    };
    Ok((input, output))
}

/// What a standard descriptor is connected to.
enum Kind {
    Socket,
    Pipe,
    Other,
}

fn kind_of(fd: i32) -> Kind {
    // SAFETY: fstat of a descriptor into a zeroed stat buffer.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Kind::Other;
    }
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => Kind::Socket,
        libc::S_IFIFO => Kind::Pipe,
        _ => Kind::Other,
    }
}

/// A copy of `fd`, owned (the standard descriptor itself stays open).
fn duplicate(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: dup of an open descriptor.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// A UNIX socket on the runtime.
fn unix_stream(fd: OwnedFd) -> std::io::Result<tokio::net::UnixStream> {
    let stream = std::os::unix::net::UnixStream::from(fd);
    stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(stream)
}
