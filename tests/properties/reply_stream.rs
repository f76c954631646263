//! Reading replies (`smtp/wire.rs` under mail-send's `SmtpClient`) from a
//! fake server over an in-memory stream, however it sends them.

use std::time::Duration;

use proptest::prelude::*;
use tokio::io::AsyncWriteExt;

use smtpbox::smtp::transcript::Transcript;
use smtpbox::smtp::wire::Wire;

use crate::checks::reply_stream::{Feed, paused_runtime, read_replies};
use crate::{config, text_from};

fn feed(bytes: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Feed> {
    (
        bytes,
        prop::collection::vec(1usize..64, 1..8),
        prop::sample::select(vec![1usize, 7, 64, 4096, 1 << 16]),
        any::<bool>(),
    )
        .prop_map(|(bytes, chunks, capacity, keep_open)| Feed {
            bytes,
            chunks,
            capacity,
            keep_open,
        })
}

const WIRE_PIECES: &[&str] = &[
    "220", "250", "554", "-", " ", "\r\n", "\n", "\r", "2.0.0 ", "5.7.1", "x", "hello", ".", "\0",
    "\u{ff}",
];

fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        text_from(WIRE_PIECES, 80).prop_map(String::into_bytes),
        // over-long lines and replies
        (
            prop::sample::select(vec!["220-", "220 ", ""]),
            4000usize..9000,
            any::<bool>()
        )
            .prop_map(|(head, len, multi)| {
                let mut bytes = head.as_bytes().to_vec();
                if multi {
                    while bytes.len() < len {
                        bytes.extend_from_slice(b"220-0123456789abcdef\r\n");
                    }
                } else {
                    bytes.resize(len, b'x');
                }
                bytes.extend_from_slice(b"\r\n");
                bytes
            }),
    ]
}

/// A well-formed reply: (code, lines of text).
fn good_reply() -> impl Strategy<Value = (u16, Vec<String>)> {
    (
        100u16..600,
        prop::collection::vec("[A-Za-z][A-Za-z0-9 .,:<>@-]{0,40}", 1..5),
    )
}

fn render_reply((code, lines): &(u16, Vec<String>)) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let separator = if i + 1 == lines.len() { ' ' } else { '-' };
        bytes.extend_from_slice(format!("{code}{separator}{line}\r\n").as_bytes());
    }
    bytes
}

/// Good replies with damage between them.
fn mixed_replies() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![
        3 => good_reply().prop_map(|reply| render_reply(&reply)),
        1 => text_from(WIRE_PIECES, 6).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..10),
    ];
    prop::collection::vec(part, 0..6).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reply_stream_never_panics_and_terminates(
        feed in feed(prop_oneof![wire_bytes(), mixed_replies(), mixed_replies()]),
    ) {
        let (replies, _) = read_replies(&feed, 4);
        prop_assert!(replies.len() <= 4);
    }

    #[test]
    fn reply_stream_reads_well_formed_replies_back(
        replies in prop::collection::vec(good_reply(), 1..4),
        chunks in prop::collection::vec(1usize..64, 1..8),
        capacity in prop::sample::select(vec![1usize, 7, 64, 4096]),
        keep_open in any::<bool>(),
    ) {
        let bytes: Vec<u8> = replies.iter().flat_map(render_reply).collect();
        let feed = Feed { bytes, chunks, capacity, keep_open };
        let (read, failed) = read_replies(&feed, replies.len());
        prop_assert_eq!(failed, None);
        prop_assert_eq!(read.len(), replies.len());
        for ((reply, codes), (code, lines)) in read.iter().zip(&replies) {
            prop_assert_eq!(reply.code, *code);
            prop_assert_eq!(codes, &Ok(()));
            prop_assert_eq!(&reply.text, &lines.join("\n"));
        }
    }
}

/// The exact client type of `Session` (`SmtpClient<Wire<_>>`), without taps:
/// a bare-`220` greeting split across writes, then EOF mid-reply.
#[test]
fn plain_wire_client_reads_a_split_greeting_then_reports_eof() {
    paused_runtime().block_on(async {
        let (mut server, client_side) = tokio::io::duplex(64);
        let mut client = mail_send::SmtpClient {
            stream: Wire::new(client_side, Transcript::off()),
            timeout: Duration::from_millis(200),
        };
        let writer = tokio::spawn(async move {
            for chunk in [&b"22"[..], b"0-a\r", b"\n220 b\r\n250-cut"] {
                server.write_all(chunk).await.expect("write");
                tokio::task::yield_now().await;
            }
        });
        let limit = Duration::from_millis(200);
        let reply = tokio::time::timeout(limit, client.read())
            .await
            .expect("in time")
            .expect("a reply");
        assert_eq!((reply.code, reply.message.as_str()), (220, "a\nb"));
        assert_eq!(client.stream.finish_reply(), Ok(()));
        let cut = tokio::time::timeout(limit, client.read())
            .await
            .expect("in time");
        assert!(cut.is_err(), "{cut:?}");
        assert!(client.stream.at_eof() && client.stream.reply_started());
        assert_eq!(client.stream.finish_reply(), Ok(()));
        writer.await.expect("writer");
    });
}
