//! Pure reply interpretation: reply codes as named constants, the checks
//! smtp-proto's parser leaves out, and the one-line rendering of a reply.
//!
//! smtp-proto takes a multi-line reply's code from its first line only
//! (`220-hi` then `554 no` parses as 220). RFC 5321 §4.2.1 requires the same
//! code on every line, so [`LineCodeCheck`] verifies each line the
//! connection hands to the parser.

use std::fmt;

/// RFC 5321 §4.2.3: service ready (the only greeting that opens a session).
pub const SERVICE_READY: u16 = 220;
/// RFC 5321 §4.2.3: closing the transmission channel (reply to QUIT).
pub const CLOSING: u16 = 221;
/// RFC 5321 §4.2.3: requested action okay, completed.
pub const OK: u16 = 250;
/// RFC 5321 §4.2.3: service not available, closing the channel.
pub const SERVICE_NOT_AVAILABLE: u16 = 421;

/// The most we read of one reply, all its lines together: smtp-proto's own
/// limit (4 KiB). RFC 5321 §4.5.3.1.5 sets 512 octets per line and no line
/// count; real greetings and EHLO replies are far below 4 KiB, and a bound
/// is what keeps a hostile server from making us buffer without end. A
/// longer reply is refused as "reply too long", even if well formed.
pub const MAX_REPLY_LEN: usize = smtp_proto::response::parser::MAX_RESPONSE_LENGTH;

/// A complete reply as the server sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (the same on every line: checked).
    pub code: u16,
    /// The text after the code, lines joined with `\n` (lossy UTF-8).
    pub text: String,
}

impl Reply {
    /// A reply with `code` and `text` (lines joined by `\n`).
    pub fn new(code: u16, text: &str) -> Reply {
        Reply {
            code,
            text: text.to_owned(),
        }
    }

    /// Builds a reply from smtp-proto's parse result.
    pub fn from_response(response: smtp_proto::Response<String>) -> Reply {
        let text = if response.esc[0] != 0 {
            let [class, subject, detail] = response.esc;
            format!("{class}.{subject}.{detail} {}", response.message)
        } else {
            response.message
        };
        Reply {
            code: response.code,
            text,
        }
    }

    /// 2xx: positive completion (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 4xx: transient negative completion.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    /// One line: the code, then the text with line breaks and control
    /// characters made harmless and cut to a readable length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN_CHARS: usize = 200;
        write!(f, "{}", self.code)?;
        let text = self.text.trim();
        if text.is_empty() {
            return Ok(());
        }
        f.write_str(" ")?;
        for (shown, ch) in text.chars().enumerate() {
            if shown == SHOWN_CHARS {
                return f.write_str("...");
            }
            match ch {
                '\n' => f.write_str(" / ")?,
                c if c.is_control() || is_invisible_format(c) => f.write_str("?")?,
                c => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// Unicode format characters a server could use to make a logged line
/// read differently than it is (bidi overrides, line separators,
/// zero-width characters).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Why a reply's framing is unacceptable, beyond what smtp-proto checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineCodeError {
    /// A line does not start with three digits and a separator.
    NotACode,
    /// A line's code differs from the first line's (RFC 5321 §4.2.1).
    MixedCodes { first: u16, other: u16 },
}

impl fmt::Display for LineCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineCodeError::NotACode => f.write_str("a reply line does not start with a code"),
            LineCodeError::MixedCodes { first, other } => {
                write!(f, "multi-line reply mixes codes {first} and {other}")
            }
        }
    }
}

/// The leading bytes of a reply line: all the code check needs.
pub type LineHead = [u8; 4];

/// Checks, line by line, that a reply's lines all start with the same
/// three-digit code followed by `-`, space or the line end (`220`, `220 hi`,
/// `220-hi`). Keeps O(1) state, so endless continuation lines cost nothing.
#[derive(Debug, Default)]
pub struct LineCodeCheck {
    first: Option<u16>,
    error: Option<LineCodeError>,
}

impl LineCodeCheck {
    /// Takes the next line of the reply.
    pub fn push(&mut self, head: LineHead) {
        if self.error.is_some() {
            return;
        }
        match (line_code(&head), self.first) {
            (None, _) => self.error = Some(LineCodeError::NotACode),
            (Some(code), None) => self.first = Some(code),
            (Some(other), Some(first)) if other != first => {
                self.error = Some(LineCodeError::MixedCodes { first, other })
            }
            (Some(_), Some(_)) => {}
        }
    }

    /// Whether any line of the reply has arrived.
    pub fn started(&self) -> bool {
        self.first.is_some() || self.error.is_some()
    }

    /// The verdict on the lines so far; resets for the next reply.
    pub fn finish(&mut self) -> Result<(), LineCodeError> {
        let verdict = match self.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        };
        self.first = None;
        verdict
    }
}

/// The code of one line head, if it has the RFC 5321 §4.2 shape.
fn line_code(head: &LineHead) -> Option<u16> {
    let [d0, d1, d2, separator] = *head;
    let digits_ok = d0.is_ascii_digit() && d1.is_ascii_digit() && d2.is_ascii_digit();
    let separator_ok = matches!(separator, b' ' | b'-' | b'\r' | b'\n');
    (digits_ok && separator_ok)
        .then(|| u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0'))
}

/// The head of a line: its first four bytes, padded with `\n` when the line
/// is shorter (a bare `220` line ends right after its code).
pub fn line_head(line: &[u8]) -> LineHead {
    let mut head = [b'\n'; 4];
    for (slot, byte) in head.iter_mut().zip(line) {
        *slot = *byte;
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_line_codes(lines: &[&str]) -> Result<(), LineCodeError> {
        let mut check = LineCodeCheck::default();
        for line in lines {
            check.push(line_head(line.as_bytes()));
        }
        check.finish()
    }

    #[test]
    fn same_code_on_every_line_passes() {
        assert_eq!(check_line_codes(&["220-a\r\n", "220 b\r\n"]), Ok(()));
        assert_eq!(check_line_codes(&["220\r\n"]), Ok(()));
        assert_eq!(check_line_codes(&["220"]), Ok(()));
        assert_eq!(check_line_codes(&["220\n"]), Ok(()));
    }

    #[test]
    fn mixed_codes_are_refused() {
        assert_eq!(
            check_line_codes(&["220-hi\r\n", "554 no\r\n"]),
            Err(LineCodeError::MixedCodes {
                first: 220,
                other: 554
            })
        );
    }

    #[test]
    fn lines_without_a_code_are_refused() {
        for bad in ["2200 ok\r\n", "22 ok\r\n", "abc ok\r\n", "220x\r\n", "\r\n"] {
            assert_eq!(
                check_line_codes(&[bad]),
                Err(LineCodeError::NotACode),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn display_is_one_harmless_line() {
        let reply = Reply {
            code: 554,
            text: "go\naway\u{1b}[31m".into(),
        };
        assert_eq!(reply.to_string(), "554 go / away?[31m");
        let bidi = Reply {
            code: 250,
            text: "ok\u{202e}evil\u{2028}x".into(),
        };
        assert_eq!(bidi.to_string(), "250 ok?evil?x");
        let bare = Reply {
            code: 220,
            text: String::new(),
        };
        assert_eq!(bare.to_string(), "220");
        let long = Reply {
            code: 250,
            text: "x".repeat(1000),
        };
        assert!(long.to_string().len() < 220);
    }

    #[test]
    fn enhanced_status_code_is_kept_in_the_text() {
        let response = smtp_proto::Response {
            code: 250,
            esc: [2, 0, 0],
            message: "Queuing started".to_string(),
        };
        assert_eq!(
            Reply::from_response(response).to_string(),
            "250 2.0.0 Queuing started"
        );
    }
}
