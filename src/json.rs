//! `--json`: what the applets' JSON documents share (a failed dialogue
//! step, a reply) and the one way a document is written: one object on
//! one line, for stdout. Each applet builds its own document from its
//! report; its schema is in its manual page.

use serde::Serialize;

use crate::smtp::{Error, Reply};

/// A reply as JSON: `{"code": 250, "text": "..."}` (lines joined by `\n`).
#[derive(Serialize, Debug, PartialEq)]
pub struct ReplyJson<'a> {
    pub code: u16,
    pub text: &'a str,
}

impl<'a> From<&'a Reply> for ReplyJson<'a> {
    fn from(reply: &'a Reply) -> Self {
        ReplyJson {
            code: reply.code,
            text: &reply.text,
        }
    }
}

/// A failed step as JSON: where (address, phase), the server's reply if it
/// sent one, and the same one-line message the applet prints on stderr.
#[derive(Serialize, Debug, PartialEq)]
pub struct FailureJson<'a> {
    /// `"192.0.2.1:25"`, `"[2001:db8::1]:25"`; null before an address.
    pub address: Option<String>,
    /// `lookup`, `connect`, `greeting`, `EHLO`, `STARTTLS`, `TLS
    /// handshake`, `AUTH ...`, the command, `QUIT`.
    pub phase: String,
    pub reply: Option<ReplyJson<'a>>,
    pub message: String,
}

impl<'a> From<&'a Error> for FailureJson<'a> {
    fn from(error: &'a Error) -> Self {
        FailureJson {
            address: error.address.map(|a| a.to_string()),
            phase: error.phase.to_string(),
            reply: error.reply().map(ReplyJson::from),
            message: error.to_string(),
        }
    }
}

/// `document` as one line of JSON, newline-terminated.
pub fn one_line<T: Serialize>(document: &T) -> String {
    // Serializing these plain structs cannot fail (no maps with non-string
    // keys, no failing Serialize impls); "{}" keeps the output JSON anyway.
    serde_json::to_string(document).unwrap_or_else(|_| "{}".to_owned()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{ErrorKind, Phase};

    #[test]
    fn a_rejected_step_carries_its_reply_and_message() {
        let reply = Reply::new(554, "no service");
        let address = "192.0.2.1:25".parse().ok();
        let error = Error::new("mx", address, Phase::Greeting, ErrorKind::Rejected(reply));
        let json = one_line(&FailureJson::from(&error));
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["address"], "192.0.2.1:25");
        assert_eq!(value["phase"], "greeting");
        assert_eq!(value["reply"]["code"], 554);
        assert_eq!(value["reply"]["text"], "no service");
        assert_eq!(value["message"], error.to_string());
        assert!(json.ends_with('\n') && json.lines().count() == 1);
    }

    #[test]
    fn a_step_without_reply_or_address_has_nulls() {
        let error = Error::new("mx", None, Phase::Lookup, ErrorKind::Lookup("no".into()));
        let value = serde_json::to_value(FailureJson::from(&error)).expect("value");
        assert!(value["address"].is_null() && value["reply"].is_null());
    }
}
