//! Every exit status smtpbox returns, named once: the contract that
//! scripts, init systems and monitoring read. Applets and the dispatcher
//! return these names; no other file spells an exit status as a number.
//!
//! | status | smtpdcheck          | etrn                              | check_mx        | smtpbox          |
//! |--------|---------------------|-----------------------------------|-----------------|------------------|
//! | 0      | none available      | every ETRN accepted               | OK              | done             |
//! | 1      | a server is up      | ETRN or AUTH refused/unsupported  | WARNING         | --install failed |
//! | 2      | usage, system error | usage, configuration, bad --netrc | CRITICAL        | usage            |
//! | 3      |                     | unreachable, TLS failed           | UNKNOWN (usage) |                  |
//! | 101    | panic (a bug)       | panic (a bug)                     | panic (a bug)   | panic (a bug)    |
//! | 127    |                     |                                   |                 | applet not found |

/// Done: `--help`, `--version`, `--list`, a completed `--install`.
pub const SUCCESS: u8 = 0;

/// A usage or configuration error (clap's own usage errors too); for
/// smtpdcheck also a system error; for etrn also a credentials file
/// (`--netrc`) that is not a private regular file of the user, or is
/// malformed. Nothing was sent to any server.
pub const USAGE: u8 = 2;

/// A panic reached `main` (as under std's own `main`): a bug.
pub const PANIC: u8 = 101;

/// smtpdcheck: Mail Avenger's contract.
pub mod smtpdcheck {
    /// None of the servers is available.
    pub const NONE_AVAILABLE: u8 = 0;
    /// A server is available; its name is on stdout.
    pub const AVAILABLE: u8 = 1;
}

/// etrn: the Solaris contract, extended by status 3.
pub mod etrn {
    /// Every ETRN was accepted (2xx).
    pub const ACCEPTED: u8 = 0;
    /// The server answered, but ETRN is not supported or some ETRN was
    /// refused; or AUTH failed while the server still answered: it offers
    /// no AUTH or no mechanism etrn speaks, sent a challenge etrn cannot
    /// answer (or too many), or refused the credentials (RFC 4954: 535,
    /// 534, 538, 454...). No ETRN was sent then.
    pub const REFUSED: u8 = 1;
    /// The server could not be reached, greeted or finish the dialogue in
    /// time (also a malformed or too long reply, or a connection dropped
    /// during AUTH), TLS was required (by
    /// `--starttls require`, or by credentials for the server) and failed,
    /// or the system could not run the dialogue at all.
    pub const UNREACHABLE: u8 = 3;
}

/// check_mx: the Monitoring Plugins contract (development guidelines,
/// "Plugin Return Codes"). Its usage errors are UNKNOWN, not [`USAGE`].
pub mod check_mx {
    /// Every MX host up and every check within its thresholds.
    pub const OK: u8 = 0;
    /// Above a warning threshold, or some MX host or address down while
    /// at least `--min-up` hosts are up.
    pub const WARNING: u8 = 1;
    /// Above a critical threshold, fewer than `--min-up` MX hosts up, or a
    /// check cut short by `--timeout`.
    pub const CRITICAL: u8 = 2;
    /// Nothing could be checked: a usage error, a failed MX lookup, a null
    /// MX.
    pub const UNKNOWN: u8 = 3;
}

/// The multicall entry `smtpbox` itself.
pub mod smtpbox {
    /// `--install` could not create every link.
    pub const INSTALL_FAILED: u8 = 1;
    /// No applet has that name (POSIX: command not found).
    pub const APPLET_NOT_FOUND: u8 = 127;
}
