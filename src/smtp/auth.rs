//! SMTP AUTH (RFC 4954), the pure part: reply codes, the SASL mechanisms
//! we speak (encoded by mail-send's `Credentials`) and which one to use.
//! The exchange itself is [`super::Session::authenticate`].

use smtp_proto::{AUTH_CRAM_MD5, AUTH_LOGIN, AUTH_PLAIN};

/// RFC 4954 §6: authentication succeeded.
pub const AUTH_SUCCEEDED: u16 = 235;
/// RFC 4954 §4: a server challenge; the client answers one line.
pub const AUTH_CONTINUE: u16 = 334;

/// RFC 4954 §4: the client line that cancels an exchange.
pub const CANCEL: &str = "*";

/// Challenges answered in one exchange at most (LOGIN needs two, CRAM-MD5
/// one, PLAIN none); a server asking for more is not one we understand.
pub const MAX_CHALLENGES: usize = 3;

/// A SASL mechanism we can answer, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// RFC 2195: the password never crosses the wire, even without TLS.
    CramMd5,
    /// RFC 4616: login and password in one line (base64, not encrypted).
    Plain,
    /// The de-facto LOGIN: login and password on two lines.
    Login,
}

impl Mechanism {
    /// Every mechanism we speak, most preferred first.
    pub const PREFERENCE: [Mechanism; 3] = [Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];

    /// The name in `AUTH NAME` and in the EHLO keyword's list.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }

    /// smtp-proto's bit for it (`EhloResponse::auth_mechanisms`), which is
    /// also what mail-send's `Credentials::encode` takes.
    pub fn bit(self) -> u64 {
        match self {
            Mechanism::CramMd5 => AUTH_CRAM_MD5,
            Mechanism::Plain => AUTH_PLAIN,
            Mechanism::Login => AUTH_LOGIN,
        }
    }

    /// Whether the first response goes on the `AUTH` line itself (RFC 4954
    /// §4 initial response); otherwise the server speaks first.
    pub fn has_initial_response(self) -> bool {
        self == Mechanism::Plain
    }
}

/// What the server's EHLO `AUTH` keyword allows us to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Use this mechanism.
    Use(Mechanism),
    /// EHLO lists no `AUTH` keyword (or no mechanism in it).
    NotOffered,
    /// AUTH is offered, but with none of our mechanisms.
    NoCommonMechanism,
}

/// The strongest of our mechanisms among those the server offers
/// (`keyword`: EHLO has an `AUTH` line; `offered`: smtp-proto's bits for
/// the mechanisms on it that it knows). One mechanism is tried; a failure
/// is reported, never followed by a weaker attempt.
pub fn choose(keyword: bool, offered: u64) -> Choice {
    if !keyword && offered == 0 {
        return Choice::NotOffered;
    }
    let common = Mechanism::PREFERENCE
        .into_iter()
        .find(|mechanism| offered & mechanism.bit() != 0);
    common.map_or(Choice::NoCommonMechanism, Choice::Use)
}

/// RFC 4954 §6: the failure replies to AUTH whose usual meaning the
/// one-line error adds, by code, each with that meaning.
const FAILURE_HINTS: [(u16, &str); 4] = [
    // Authentication credentials invalid.
    (535, "the login or password was not accepted"),
    // Authentication mechanism is too weak.
    (534, "the server wants a stronger mechanism"),
    // Encryption required for requested authentication mechanism.
    (538, "the server wants TLS first"),
    // Temporary authentication failure.
    (454, "a temporary failure on the server"),
];

/// What an AUTH failure reply usually means, for the one-line error.
pub fn failure_hint(code: u16) -> Option<&'static str> {
    FAILURE_HINTS
        .iter()
        .find(|(failure, _)| *failure == code)
        .map(|(_, hint)| *hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::{AUTH_DIGEST_MD5, AUTH_GSSAPI, AUTH_XOAUTH2};

    #[test]
    fn the_strongest_common_mechanism_is_chosen() {
        let all = AUTH_CRAM_MD5 | AUTH_PLAIN | AUTH_LOGIN;
        let cases = [
            (all, Choice::Use(Mechanism::CramMd5)),
            (0, Choice::NoCommonMechanism),
            (AUTH_PLAIN | AUTH_LOGIN, Choice::Use(Mechanism::Plain)),
            (AUTH_LOGIN | AUTH_GSSAPI, Choice::Use(Mechanism::Login)),
            (AUTH_LOGIN, Choice::Use(Mechanism::Login)),
            (
                AUTH_CRAM_MD5 | AUTH_DIGEST_MD5,
                Choice::Use(Mechanism::CramMd5),
            ),
            (AUTH_GSSAPI | AUTH_XOAUTH2, Choice::NoCommonMechanism),
        ];
        for (offered, choice) in cases {
            assert_eq!(choose(true, offered), choice, "{offered:#x}");
        }
        assert_eq!(choose(false, 0), Choice::NotOffered);
        assert_eq!(choose(false, AUTH_PLAIN), Choice::Use(Mechanism::Plain));
    }

    #[test]
    fn mail_send_encodes_our_mechanisms() {
        // RFC 4616 and RFC 2195's own example.
        let credentials = mail_send::Credentials::new("tim", "tanstaaftanstaaf");
        let plain = credentials.encode(Mechanism::Plain.bit(), "");
        assert_eq!(plain.ok().as_deref(), Some("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
        let challenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
        let cram = credentials.encode(Mechanism::CramMd5.bit(), challenge);
        assert_eq!(
            cram.ok().as_deref(),
            Some("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
        );
        let login = credentials.encode(Mechanism::Login.bit(), "VXNlcm5hbWU6");
        assert_eq!(login.ok().as_deref(), Some("dGlt"));
    }

    #[test]
    fn hints_for_rfc_4954_failures() {
        for code in [535, 534, 538, 454] {
            assert!(failure_hint(code).is_some(), "{code}");
        }
        assert_eq!(failure_hint(501), None);
    }
}
