//! `smtpdcheck --postfix-policy`: the Postfix policy service. spawn(8)
//! connects stdin, stdout and stderr to one smtpd connection, which sends
//! request after request until it closes (it may stay idle for hours).
//!
//! Each RCPT request is decided as `--mx` decides for the recipient's
//! domain: a more preferred MX that is up gets `DEFER_IF_PERMIT` naming
//! it, anything else `DUNNO`. It fails open: a lookup error, a timeout or
//! any trouble of ours is `DUNNO`, within `--timeout` of the request (the
//! [`Engine`] decides: MX answers kept in memory for their lifetime, probe
//! results as the cache says, shared on disk with other processes). Nothing goes to stderr
//! (it is the peer): the reporter logs to syslog. A malformed request
//! closes the connection unanswered, as SMTPD_POLICY_README asks; smtpd
//! then applies its `default_action`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::engine::{Decision, Engine};
use super::policy::{Action, MAX_REQUEST_BYTES, Request, next_request};
use super::streams::standard_streams;
use crate::report::Reporter;

/// How much is read from the connection at once.
const READ_CHUNK: usize = 16 * 1024;

/// Serves requests on stdin/stdout until the peer closes the connection
/// or sends a malformed request; returns when done.
pub async fn serve(engine: &Engine, reporter: &Reporter) {
    let (mut input, mut output) = match standard_streams() {
        Ok(streams) => streams,
        Err(err) => {
            reporter.error(format_args!("cannot use stdin/stdout: {err}"));
            return;
        }
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut answers = String::new();
    loop {
        // Answer every whole request received, then write them at once.
        let mut start = 0;
        answers.clear();
        loop {
            match next_request(&buffer[start..]) {
                Ok(Some((request, used))) => {
                    start += used;
                    answer(engine, &request, reporter)
                        .await
                        .render_into(&mut answers);
                }
                Ok(None) => break,
                Err(error) => {
                    // The requests before it are answered all the same.
                    let _ = output.write_all(answers.as_bytes()).await;
                    let _ = output.flush().await;
                    reporter.error(format_args!(
                        "malformed request, connection closed: {error}"
                    ));
                    return;
                }
            }
        }
        buffer.drain(..start);
        if !answers.is_empty()
            && (output.write_all(answers.as_bytes()).await.is_err()
                || output.flush().await.is_err())
        {
            return; // the peer is gone
        }
        let read = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                if !buffer.iter().all(u8::is_ascii_whitespace) {
                    reporter.error("connection closed inside a request");
                }
                return;
            }
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        if buffer.len() > MAX_REQUEST_BYTES + READ_CHUNK {
            reporter.error("malformed request, connection closed: request too large");
            return;
        }
    }
}

/// The answer to one request: DUNNO when anything goes wrong (the
/// engine decides within `--timeout`).
async fn answer(engine: &Engine, request: &Request<'_>, reporter: &Reporter) -> Action {
    let Some(domain) = request.recipient_domain() else {
        // Bytes that are not UTF-8 are shown as such (escaped).
        let shown = |name: &[u8]| {
            let value = request.get_bytes(name).unwrap_or(b"-");
            String::from_utf8_lossy(value).escape_debug().to_string()
        };
        reporter.detail(format_args!(
            "{} {}: DUNNO (not a recipient)",
            shown(b"protocol_state"),
            shown(b"recipient"),
        ));
        return Action::Dunno;
    };
    let recipient = request.get("recipient").unwrap_or_default();
    match engine.decide(domain, request.server_address()).await {
        Ok(Decision::Defer(server)) => {
            reporter.info(format_args!(
                "{recipient}: DEFER_IF_PERMIT: the more preferred MX {server} is up"
            ));
            Action::DeferIfPermit(server)
        }
        Ok(Decision::Accept) => {
            reporter.detail(format_args!("{recipient}: DUNNO"));
            Action::Dunno
        }
        Err(trouble) => {
            reporter.error(format_args!("{recipient}: DUNNO: {trouble}"));
            Action::Dunno
        }
    }
}
