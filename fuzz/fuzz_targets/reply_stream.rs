//! Reply handling over an in-memory stream: mail-send's `SmtpClient` reading
//! through a `Wire` whatever a server may send.
//!
//! Input: byte 0 chooses the pipe capacity and whether the server keeps its
//! side open; bytes 1..4 are chunk lengths (each chunk a separate write);
//! the rest is the server's output. Up to 4 replies are read, each under a
//! 200 ms limit on a paused clock (a stalled read costs no real time), then
//! `finish_reply()`: nothing panics, every read ends, the wire never holds
//! more than two replies' worth of bytes, and every reply displays as one
//! harmless bounded line. The reading and its checks are the property
//! tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/reply_stream.rs"]
mod checks;

use checks::{Feed, read_replies};

const MAX_REPLIES: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (sizes, bytes) = rest.split_at(rest.len().min(3));
    let feed = Feed {
        bytes: bytes.to_vec(),
        chunks: if sizes.is_empty() {
            vec![1]
        } else {
            sizes.iter().map(|&s| usize::from(s) + 1).collect()
        },
        capacity: [1usize, 7, 64, 4096][usize::from(flags & 3)],
        keep_open: flags & 4 != 0,
    };
    let (replies, _) = read_replies(&feed, MAX_REPLIES);
    assert!(replies.len() <= MAX_REPLIES);
});
