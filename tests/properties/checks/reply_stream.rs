//! Reading replies from a fake server: mail-send's `SmtpClient` over a
//! [`Wire`] on an in-memory pipe, and what every reply read must respect.
//! Shared by the `reply_stream` fuzz target (which includes this file by
//! path) and the property tests `reply_stream` and `reply`.
//! Proptest-free: plain `assert!`s.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWriteExt, DuplexStream, Join, ReadBuf, Sink};
use tokio::runtime::Runtime;

use smtpbox::smtp::reply::{LineCodeError, MAX_REPLY_LEN, Reply};
use smtpbox::smtp::transcript::Transcript;
use smtpbox::smtp::wire::Wire;

/// The widest `Reply` display: 5 digits, a space, 200 characters each shown
/// as at most 3 (`\n` as ` / `), then `...`.
const MAX_DISPLAY_CHARS: usize = 5 + 1 + 200 * 3 + 3;

/// A reply displays as one bounded line without control characters,
/// starting with its code.
pub fn check_display(reply: &Reply) {
    let shown = reply.to_string();
    assert!(!shown.contains('\n'), "{shown:?}");
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(
        shown.chars().count() <= MAX_DISPLAY_CHARS,
        "{} chars",
        shown.chars().count()
    );
    assert!(shown.starts_with(&reply.code.to_string()));
}

/// How a fake server sends its bytes.
#[derive(Clone, Debug)]
pub struct Feed {
    pub bytes: Vec<u8>,
    /// Chunk lengths, cycled (each chunk is a separate write; 0 counts as 1).
    pub chunks: Vec<usize>,
    /// The duplex pipe's capacity (small ones make the writer wait).
    pub capacity: usize,
    /// Whether the server keeps its side open after the bytes.
    pub keep_open: bool,
}

fn chunks_of(feed: &Feed) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = feed.bytes.as_slice();
    for &size in feed.chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        out.push(chunk.to_vec());
        rest = tail;
    }
    out
}

/// Counts the bytes read through it, so the wire's holding can be measured:
/// read from the server minus handed to the parser.
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
        let before = buf.filled().len();
        let Tap { inner, read } = self.get_mut();
        let polled = Pin::new(inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            *read += buf.filled().len() - before;
        }
        polled
    }
}

/// A runtime on a paused clock: time-outs elapse at once when nothing else
/// can run, so a stalled read costs no real time.
pub fn paused_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// The replies read (each with its line-code verdict from
/// `Wire::finish_reply`) and, when a read failed or timed out, why.
pub type Outcome = (Vec<(Reply, Result<(), LineCodeError>)>, Option<String>);

/// Feeds `feed` to `SmtpClient::read` over a [`Wire`] and reads up to
/// `max_replies` replies, each under a 200 ms limit on a [`paused_runtime`].
/// Every read ends, the wire never holds more than two replies' worth of
/// bytes, and every reply passes [`check_display`].
pub fn read_replies(feed: &Feed, max_replies: usize) -> Outcome {
    paused_runtime().block_on(async {
        let (mut server, client_side) = tokio::io::duplex(feed.capacity);
        let chunks = chunks_of(feed);
        let keep_open = feed.keep_open;
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
        let wire = Wire::new(Tap::new(client_side), Transcript::off());
        // `SmtpClient` wants a writer too; reading never writes, so the taps
        // need not pass writes through: they go to a sink.
        let stream: Join<Tap<Wire<Tap<DuplexStream>>>, Sink> =
            tokio::io::join(Tap::new(wire), tokio::io::sink());
        let mut client = mail_send::SmtpClient {
            stream,
            timeout: limit,
        };
        let (mut replies, mut failed) = (Vec::new(), None);
        for _ in 0..max_replies {
            let read = tokio::time::timeout(limit, client.read()).await;
            let handed = client.stream.reader_mut();
            let codes = handed.inner.finish_reply();
            let held = handed.inner.inner().read - handed.read;
            assert!(held <= 2 * MAX_REPLY_LEN, "the wire holds {held} bytes");
            match read {
                Ok(Ok(response)) => {
                    let reply = Reply::from_response(response);
                    check_display(&reply);
                    replies.push((reply, codes));
                }
                Ok(Err(err)) => {
                    failed = Some(err.to_string());
                    break;
                }
                Err(_) => {
                    failed = Some("timed out".to_owned());
                    break;
                }
            }
        }
        writer.abort();
        (replies, failed)
    })
}
