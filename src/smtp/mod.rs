//! The shared SMTP dialogue core, used by every applet.
//!
//! - [`resolve`]: names to addresses (system resolver), IP literals as is,
//!   and this host's own interface addresses.
//! - [`mx`]: a domain's mail servers (MX records, implicit and null MX).
//! - [`race`]: Happy Eyeballs (RFC 8305) over a host's addresses.
//! - [`session`]: one dialogue: greeting, EHLO/HELO, commands, STARTTLS,
//!   AUTH, QUIT, each phase under a deadline.
//! - [`auth`]: SMTP AUTH's reply codes and the choice of SASL mechanism.
//! - [`wire`]: the bounded, line-at-a-time stream under mail-send's
//!   `SmtpClient`; [`stream`]: plain or TLS.
//! - [`reply`]: pure reply interpretation and protocol constants.
//! - [`tls`]: STARTTLS policy and rustls set-up, built only when used.
//! - [`transcript`]: the `-v` dialogue.
//! - [`error`]: what failed, where, and what the server said.

pub mod auth;
pub mod error;
pub mod mx;
pub mod race;
pub mod reply;
pub mod resolve;
pub mod session;
pub mod stream;
pub mod tls;
pub mod transcript;
pub mod wire;

pub use error::{Error, ErrorKind, Phase};
pub use reply::Reply;
pub use session::{Hello, Limits, Session};

/// RFC 4954 §3: the EHLO keyword that advertises AUTH (and its mechanisms).
pub const EXT_AUTH: u32 = smtp_proto::EXT_AUTH;

/// RFC 3207 §4: the EHLO keyword that advertises STARTTLS.
pub const EXT_STARTTLS: u32 = smtp_proto::EXT_START_TLS;
