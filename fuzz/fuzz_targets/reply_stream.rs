//! Reply handling over an in-memory stream: mail-send's `SmtpClient` reading
//! through a [`Wire`] whatever a server may send.
//!
//! Input: byte 0 chooses the pipe capacity and whether the server keeps its
//! side open; bytes 1..4 are chunk lengths (each chunk a separate write);
//! the rest is the server's output. Up to 4 replies are read, each under a
//! 200 ms limit on a paused clock (a stalled read costs no real time), then
//! `finish_reply()`: nothing panics, every read ends, the wire never holds
//! more than two replies' worth of bytes, and every reply displays as one
//! harmless bounded line.
#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use smtpbox::smtp::reply::{MAX_REPLY_LEN, Reply};
use smtpbox::smtp::transcript::Transcript;
use smtpbox::smtp::wire::Wire;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

const MAX_REPLIES: usize = 4;
/// The widest `Reply` display: 5 digits, a space, 200 characters each shown
/// as at most 3 (`\n` as ` / `), then `...`.
const MAX_DISPLAY_CHARS: usize = 5 + 1 + 200 * 3 + 3;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (sizes, bytes) = rest.split_at(rest.len().min(3));
    let capacity = [1usize, 7, 64, 4096][usize::from(flags & 3)];
    let keep_open = flags & 4 != 0;
    let sizes: Vec<usize> = if sizes.is_empty() {
        vec![1]
    } else {
        sizes.iter().map(|&s| usize::from(s) + 1).collect()
    };
    let mut chunks = Vec::new();
    let mut left = bytes;
    for &size in sizes.iter().cycle() {
        if left.is_empty() {
            break;
        }
        let (chunk, tail) = left.split_at(size.min(left.len()));
        chunks.push(chunk.to_vec());
        left = tail;
    }
    read_replies(chunks, capacity, keep_open);
});

fn read_replies(chunks: Vec<Vec<u8>>, capacity: usize, keep_open: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (mut server, client_side) = tokio::io::duplex(capacity);
        let writer = tokio::spawn(async move {
            for chunk in chunks {
                if server.write_all(&chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            if keep_open {
                std::future::pending::<()>().await;
            }
        });
        let limit = Duration::from_millis(200);
        let mut client = mail_send::SmtpClient {
            stream: Tap::new(Wire::new(Tap::new(client_side), Transcript::off())),
            timeout: limit,
        };
        for _ in 0..MAX_REPLIES {
            let read = tokio::time::timeout(limit, client.read()).await;
            let wire = &mut client.stream.inner;
            let _ = wire.finish_reply();
            let held = wire.inner().read - client.stream.read;
            assert!(held <= 2 * MAX_REPLY_LEN, "the wire holds {held} bytes");
            match read {
                Ok(Ok(response)) => check_display(&Reply::from_response(response)),
                Ok(Err(_)) | Err(_) => break,
            }
        }
        writer.abort();
    });
}

fn check_display(reply: &Reply) {
    let shown = reply.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.chars().count() <= MAX_DISPLAY_CHARS);
    assert!(shown.starts_with(&reply.code.to_string()));
}

/// Counts the bytes read through it.
struct Tap<S> {
    inner: S,
    read: usize,
}

impl<S> Tap<S> {
    fn new(inner: S) -> Tap<S> {
        Tap { inner, read: 0 }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.read += buf.filled().len() - before;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
