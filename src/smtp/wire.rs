//! [`Wire`]: the stream under mail-send's `SmtpClient`, handing it one reply
//! line per read.
//!
//! `SmtpClient::read` reads 1 KiB at a time and drops whatever follows the
//! reply it parsed, so bytes a server pushed early (pipelined garbage, or
//! plaintext injected after the `220` to STARTTLS) would vanish unseen.
//! Handing out at most one line per read means the parser never over-reads:
//! anything after a reply stays here, where [`Wire::has_buffered`] sees it.
//! On the way through, every line is written to the transcript and its code
//! checked ([`LineCodeCheck`]), and reading is bounded: at most
//! [`MAX_REPLY_LEN`] bytes are ever buffered, however the server behaves.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::reply::{LineCodeCheck, LineCodeError, MAX_REPLY_LEN, line_head};
use super::transcript::Transcript;
use crate::secret::wipe;

/// Our own commands are short; a longer partial line is not remembered for
/// the transcript.
const MAX_COMMAND_ECHO: usize = 1024;

/// A byte stream cut into reply lines for `SmtpClient`.
pub struct Wire<S> {
    inner: S,
    /// Received, not yet handed out; shorter than [`MAX_REPLY_LEN`] unless it
    /// holds a complete line.
    pending: Vec<u8>,
    /// The line being handed out and how much of it is gone.
    line: Vec<u8>,
    line_pos: usize,
    eof: bool,
    /// Bytes handed out since the current reply began.
    reply_bytes: usize,
    codes: LineCodeCheck,
    /// The command being written, for the transcript.
    command: Vec<u8>,
    transcript: Transcript,
}

impl<S> Wire<S> {
    /// Wraps `inner`, writing the dialogue to `transcript`.
    pub fn new(inner: S, transcript: Transcript) -> Wire<S> {
        Wire {
            inner,
            pending: Vec::with_capacity(256),
            line: Vec::with_capacity(256),
            line_pos: 0,
            eof: false,
            reply_bytes: 0,
            codes: LineCodeCheck::default(),
            command: Vec::new(),
            transcript,
        }
    }

    /// Whether the server sent bytes that no reply has consumed yet.
    pub fn has_buffered(&self) -> bool {
        !self.pending.is_empty() || self.line_pos < self.line.len()
    }

    /// Whether the server closed its side.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Whether any line of the current reply has arrived.
    pub fn reply_started(&self) -> bool {
        self.codes.started()
    }

    /// Whether the current reply outgrew the limit.
    pub fn reply_too_long(&self) -> bool {
        self.reply_bytes >= MAX_REPLY_LEN
    }

    /// Ends the current reply: the verdict on its line codes.
    pub fn finish_reply(&mut self) -> Result<(), LineCodeError> {
        self.reply_bytes = 0;
        self.codes.finish()
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The connection's transcript.
    pub fn transcript(&mut self) -> &mut Transcript {
        &mut self.transcript
    }

    /// Gives back the stream and the transcript, dropping buffered bytes
    /// (callers check [`Wire::has_buffered`] first where that matters).
    pub fn into_parts(self) -> (S, Transcript) {
        (self.inner, self.transcript)
    }

    /// Moves the next line (or an over-long fragment, or the tail before
    /// EOF) from `pending` to `line`. Returns false when there is none yet.
    fn take_next_line(&mut self) -> bool {
        let end = match memchr_lf(&self.pending) {
            Some(lf) => lf + 1,
            None if self.pending.len() >= MAX_REPLY_LEN => MAX_REPLY_LEN,
            None if self.eof && !self.pending.is_empty() => self.pending.len(),
            None => return false,
        };
        self.line.clear();
        self.line.extend(self.pending.drain(..end));
        self.line_pos = 0;
        self.reply_bytes = self.reply_bytes.saturating_add(self.line.len());
        self.codes.push(line_head(&self.line));
        self.transcript.server(trim_line_end(&self.line));
        true
    }
}

impl<S: AsyncRead + Unpin> Wire<S> {
    /// Reads more bytes into `pending`, never past [`MAX_REPLY_LEN`].
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; MAX_REPLY_LEN];
        let room = MAX_REPLY_LEN - self.pending.len().min(MAX_REPLY_LEN);
        let mut buf = ReadBuf::new(&mut chunk[..room.max(1)]);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf))?;
        if buf.filled().is_empty() {
            self.eof = true;
        } else {
            self.pending.extend_from_slice(buf.filled());
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.line_pos < this.line.len() {
                let n = buf.remaining().min(this.line.len() - this.line_pos);
                buf.put_slice(&this.line[this.line_pos..this.line_pos + n]);
                this.line_pos += n;
                return Poll::Ready(Ok(()));
            }
            if this.take_next_line() {
                continue;
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            ready!(this.poll_fill(cx))?;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.echo_command(&buf[..written]);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S> Wire<S> {
    /// Collects written bytes into lines for the transcript.
    fn echo_command(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.command);
                self.transcript.client(trim_line_end(&line));
                // It may have been an AUTH secret.
                wipe(&mut line);
            } else if self.command.len() < MAX_COMMAND_ECHO {
                self.command.push(byte);
            }
        }
    }
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// A line without its `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime")
            .block_on(future)
    }

    #[test]
    fn hands_out_one_line_per_read_and_keeps_the_rest() {
        block_on(async {
            let (mut server, client) = tokio::io::duplex(1 << 16);
            server
                .write_all(b"220-a\r\n220 b\r\nEXTRA")
                .await
                .expect("write");
            let mut wire = Wire::new(client, Transcript::off());
            let mut buf = [0u8; 1024];
            let n = wire.read(&mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"220-a\r\n");
            let n = wire.read(&mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"220 b\r\n");
            assert_eq!(wire.finish_reply(), Ok(()));
            assert!(wire.has_buffered());
        });
    }

    #[test]
    fn an_endless_line_is_cut_into_bounded_fragments() {
        block_on(async {
            let (mut server, client) = tokio::io::duplex(1 << 16);
            let mut wire = Wire::new(client, Transcript::off());
            tokio::spawn(async move {
                let junk = vec![b'x'; 3 * MAX_REPLY_LEN];
                let _ = server.write_all(&junk).await;
                // keep the server side open
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            });
            let mut buf = vec![0u8; 2 * MAX_REPLY_LEN];
            let n = wire.read(&mut buf).await.expect("read");
            assert_eq!(n, MAX_REPLY_LEN);
            assert!(wire.reply_too_long());
            assert!(wire.pending.capacity() <= 2 * MAX_REPLY_LEN);
        });
    }

    #[test]
    fn eof_is_reported_after_the_tail() {
        block_on(async {
            let (mut server, client) = tokio::io::duplex(1024);
            server.write_all(b"220 no end").await.expect("write");
            drop(server);
            let mut wire = Wire::new(client, Transcript::off());
            let mut all = Vec::new();
            wire.read_to_end(&mut all).await.expect("read");
            assert_eq!(all, b"220 no end");
            assert!(wire.at_eof());
            assert!(wire.reply_started());
        });
    }

    #[test]
    fn mixed_codes_are_caught() {
        block_on(async {
            let (mut server, client) = tokio::io::duplex(1024);
            server
                .write_all(b"220-hi\r\n554 no\r\n")
                .await
                .expect("write");
            drop(server);
            let mut wire = Wire::new(client, Transcript::off());
            let mut all = Vec::new();
            wire.read_to_end(&mut all).await.expect("read");
            assert!(wire.finish_reply().is_err());
        });
    }
}
