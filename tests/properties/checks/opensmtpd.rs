//! What the OpenSMTPD filter protocol module (`opensmtpd.rs`) promises,
//! checked once for the `opensmtpd` fuzz target (which includes this file
//! by path) and the property tests of `opensmtpd.rs`: on any bytes from
//! smtpd, lines are cut within their bound, nothing panics, every line that
//! names a version, a session and a token is a request, and every request
//! gets exactly one answer line that smtpd parses: the right session and
//! token in the right order, a known decision, a reply text it accepts.
//! Proptest-free: plain `assert!`s.

use std::net::SocketAddr;

use smtpbox::names::HostName;
use smtpbox::smtpdcheck::opensmtpd::{
    Answer, Decision, Endpoint, Event, Handling, LineSplitter, MAX_LINE_BYTES,
    MAX_RESULT_LINE_BYTES, MAX_SESSIONS, Report, ReportEvent, Request, Sessions, Version,
    parse_line,
};

/// Byte 0 of `input` is the size of the reads (1 to 256 bytes), the rest
/// what smtpd wrote: cut into lines, each classified and answered.
pub fn check_stream(input: &[u8]) {
    let (chunk, bytes) = match input.split_first() {
        Some((&first, rest)) => (usize::from(first) + 1, rest),
        None => (1, input),
    };
    let mut splitter = LineSplitter::new();
    let mut sessions = Sessions::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for read in bytes.chunks(chunk) {
        splitter.push(read);
        assert!(splitter.buffered() <= MAX_LINE_BYTES + read.len());
        while let Some(line) = splitter.next_line() {
            assert!(line.len() <= MAX_LINE_BYTES && !line.contains(&b'\n'));
            lines.push(line.to_vec());
        }
    }
    // However it was read, the lines are the input's whole lines that fit.
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&b""[..], |end| &bytes[..end]);
    let expected: Vec<&[u8]> = if bytes.contains(&b'\n') {
        complete.split(|&b| b == b'\n').collect()
    } else {
        Vec::new()
    };
    let fitting: Vec<&[u8]> = expected
        .iter()
        .copied()
        .filter(|line| line.len() <= MAX_LINE_BYTES)
        .collect();
    assert_eq!(lines, fitting);
    // An unfinished line is dropped (and counted) once it is too long.
    let unfinished = bytes.len() - expected.iter().map(|line| line.len() + 1).sum::<usize>();
    let dropped = expected.len() - fitting.len() + usize::from(unfinished > MAX_LINE_BYTES);
    assert_eq!(splitter.discarded(), dropped as u64);
    for line in &lines {
        check_line(line, &mut sessions);
    }
}

/// One line: classified as the protocol says, each request answered once.
pub fn check_line(line: &[u8], sessions: &mut Sessions) {
    let event = parse_line(line);
    assert_eq!(
        matches!(event, Event::Filter(_)),
        is_answerable(line),
        "{:?}",
        String::from_utf8_lossy(line)
    );
    match event {
        Event::Filter(request) => check_answer(line, &request),
        Event::Report(report) => {
            sessions.apply(&report);
            assert!(sessions.len() <= MAX_SESSIONS);
        }
        Event::Config { key, value } => {
            assert!(line.starts_with(b"config|"));
            assert!(!key.contains('|') && !value.contains('\n'));
        }
        Event::ConfigReady => assert_eq!(line, b"config|ready"),
        Event::Unknown => {}
    }
}

/// Whether smtpd-filters(7) makes `line` a request that can be answered,
/// decided here without the module: `filter|`, a `MAJOR.MINOR` version,
/// any timestamp, subsystem and phase, then a session and a token of 1 to
/// 16 hex digits; within the line limit.
pub fn is_answerable(line: &[u8]) -> bool {
    let fields: Vec<&[u8]> = line.splitn(8, |&b| b == b'|').collect();
    let hex = |f: &[u8]| (1..=16).contains(&f.len()) && f.iter().all(u8::is_ascii_hexdigit);
    let number = |f: &[u8]| {
        !f.is_empty()
            && f.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(f).is_ok_and(|t| t.parse::<u16>().is_ok())
    };
    let version = |f: &[u8]| {
        let mut parts = f.splitn(2, |&b| b == b'.');
        let major = parts.next().unwrap_or_default();
        parts
            .next()
            .is_some_and(|minor| number(major) && number(minor))
    };
    line.len() <= MAX_LINE_BYTES
        && fields.len() >= 7
        && fields[0] == b"filter"
        && version(fields[1])
        && hex(fields[5])
        && hex(fields[6])
}

/// The answer to `request` (read from `line`), for each decision it may
/// take, is one line smtpd parses as meant.
pub fn check_answer(line: &[u8], request: &Request) {
    match request.handling() {
        Handling::Now(answer) => {
            let mut out = Vec::new();
            answer.render_into(&mut out);
            check_answer_line(&out, request);
            if let Answer::DataLine { line: echoed, .. } = answer {
                assert_eq!(echoed, request.params.unwrap_or_default());
            }
        }
        Handling::Decide {
            recipient,
            domain,
            to,
        } => {
            assert_eq!(to, request.answer_to());
            // The address is all that follows the token, without its <>.
            let sent = request.params.expect("an address");
            let sent = sent.strip_prefix(b"<").unwrap_or(sent);
            assert_eq!(
                recipient.as_bytes(),
                sent.strip_suffix(b">").unwrap_or(sent)
            );
            assert!(line.ends_with(request.params.expect("an address")));
            let after_at = recipient.rsplit_once('@').map(|(_, d)| d);
            assert_eq!(after_at.map(|d| d.trim_end_matches('.')), Some(domain));
            assert!(!domain.is_empty() && domain.bytes().all(|b| b.is_ascii_graphic()));
            for decision in decisions() {
                let mut out = Vec::new();
                to.with(decision).render_into(&mut out);
                check_answer_line(&out, request);
            }
        }
    }
}

/// Every decision, with names that push the text to its limits.
fn decisions() -> Vec<Decision> {
    let mut all = vec![Decision::Proceed];
    for name in [
        "mx1.d.test",
        "mx|1.d.test",
        "[2001:db8::25]",
        &"x".repeat(255),
    ] {
        let server = HostName::parse(name).expect("a valid name");
        all.push(Decision::UseServer(server));
    }
    all
}

/// `out` is one answer line to `request`, as lka_filter.c reads it: kind,
/// session and token (token first before 0.5) in hex, then `proceed`, or
/// `reject|` and a reply smtpd takes (`valid_smtp_response`: a code, a
/// space, text), or for a data line the line itself.
pub fn check_answer_line(out: &[u8], request: &Request) {
    let text = out.strip_suffix(b"\n").expect("ends with a newline");
    // lka_filter.c reads up to the newline and then as a C string.
    assert!(!text.contains(&b'\n') && !text.contains(&0));
    let mut fields = text.splitn(4, |&b| b == b'|');
    let kind = fields.next().unwrap_or_default();
    let first = fields.next().expect("a first id");
    let second = fields.next().expect("a second id");
    let rest = fields.next().expect("a decision");
    let ids = |first: &[u8], second: &[u8]| {
        let read = |f: &[u8]| {
            assert!(
                f.len() == 16
                    && f.iter()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            );
            u64::from_str_radix(std::str::from_utf8(f).expect("hex"), 16).expect("hex")
        };
        (read(first), read(second))
    };
    let session_first = request.version >= Version { major: 0, minor: 5 };
    let (session, token) = if session_first {
        ids(first, second)
    } else {
        let (token, session) = ids(first, second);
        (session, token)
    };
    assert_eq!((session, token), (request.session, request.token));
    match kind {
        b"filter-result" => {
            assert!(text.len() <= MAX_RESULT_LINE_BYTES && !text.contains(&b'\r'));
            assert_ne!(request.phase, Some("data-line"));
            if rest != b"proceed" {
                let reply = rest.strip_prefix(b"reject|").expect("proceed or reject");
                assert!(reply.len() >= 5 && reply.len() <= 510);
                assert!(reply[0] == b'4' && reply[1..3].iter().all(u8::is_ascii_digit));
                assert!(reply[3] == b' ' && &reply[..3] != b"421");
                assert!(
                    reply
                        .iter()
                        .all(|&b| (b' '..=b'~').contains(&b) && b != b'|')
                );
            }
        }
        b"filter-dataline" => {
            assert_eq!(request.phase, Some("data-line"));
            let sent = request.params.unwrap_or_default();
            let one_line = sent.iter().map(|&b| if b == 0 { b' ' } else { b });
            assert!(rest.iter().copied().eq(one_line));
        }
        other => panic!("answer kind {:?}", String::from_utf8_lossy(other)),
    }
}

/// An `rcpt-to` request for `address` (any bytes without a newline)
/// reads back as sent: the address whole, `|` included.
pub fn check_rcpt_to(minor: u16, session: u64, token: u64, address: &[u8]) {
    let line = [
        format!("filter|0.{minor}|1576146008.006099|smtp-in|rcpt-to|{session:016x}|{token:016x}|")
            .as_bytes(),
        address,
    ]
    .concat();
    let Event::Filter(request) = parse_line(&line) else {
        panic!("not a request: {:?}", String::from_utf8_lossy(&line));
    };
    assert_eq!((request.session, request.token), (session, token));
    assert_eq!(request.version, Version { major: 0, minor });
    assert_eq!(request.recipient(), Some(address));
    check_answer(&line, &request);
    let bare = address.strip_prefix(b"<").unwrap_or(address);
    let bare = bare.strip_suffix(b">").unwrap_or(bare);
    let decidable = bare.iter().all(u8::is_ascii_graphic)
        && bare
            .iter()
            .rposition(|&b| b == b'@')
            .is_some_and(|at| bare[at + 1..].iter().any(|&b| b != b'.'));
    assert_eq!(
        matches!(request.handling(), Handling::Decide { .. }),
        decidable,
        "{:?}",
        String::from_utf8_lossy(address)
    );
}

/// A `link-connect` report names the session and the local address as
/// written, whatever the reverse name holds (addresses without an IPv6
/// flow label or zone, which smtpd does not write).
pub fn check_link_connect(session: u64, rdns: &[u8], source: SocketAddr, local: SocketAddr) {
    let written = |a: SocketAddr| match a {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let line = [
        format!("report|0.7|1576146008.006099|smtp-in|link-connect|{session:016x}|").as_bytes(),
        rdns,
        format!("|pass|{}|{}", written(source), written(local)).as_bytes(),
    ]
    .concat();
    let Event::Report(Report {
        session: read,
        event:
            ReportEvent::LinkConnect {
                rdns: r,
                source: s,
                local: l,
                ..
            },
        ..
    }) = parse_line(&line)
    else {
        panic!("not a link-connect: {:?}", String::from_utf8_lossy(&line));
    };
    assert_eq!(read, session);
    assert_eq!((r, s, l), (rdns, Endpoint::Ip(source), Endpoint::Ip(local)));
    let mut sessions = Sessions::new();
    let Event::Report(report) = parse_line(&line) else {
        unreachable!("read above")
    };
    sessions.apply(&report);
    assert_eq!(
        sessions.local_address(session),
        Some(local.ip().to_canonical())
    );
    let disconnect = format!("report|0.7|1|smtp-in|link-disconnect|{session:016x}");
    let Event::Report(report) = parse_line(disconnect.as_bytes()) else {
        panic!("not a link-disconnect")
    };
    sessions.apply(&report);
    assert!(sessions.is_empty());
}
