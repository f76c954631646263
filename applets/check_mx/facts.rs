//! What a run found out, as plain data: per MX host its lookup, per
//! address how far the dialogue got, how long each step took, what the
//! server said and which certificate it presented. Filled in by
//! [`super::probe`], judged by [`super::evaluate`], printed by
//! [`super::output`]. Nothing here decides anything.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

use super::dane::{DaneMatch, Tlsa};
use super::mta_sts::{Policy, StsRecord, TlsRpt};

/// The steps of one check, in dialogue order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The host name to addresses.
    Lookup,
    /// The TCP connection.
    Connect,
    /// Reading the `220` greeting.
    Greeting,
    /// `EHLO` (or `HELO` after a refused `EHLO`), before or after TLS.
    Ehlo,
    /// `STARTTLS` and the TLS handshake.
    Starttls,
    /// `QUIT`: every check before it is done.
    Quit,
}

impl Stage {
    /// How the stage is named in text output.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Lookup => "lookup",
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Starttls => "STARTTLS",
            Stage::Quit => "QUIT",
        }
    }
}

/// Why a check stopped before it was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, as one line (a reply, a system error).
    pub message: String,
    /// The run's `--timeout` cut the stage short.
    pub timed_out: bool,
}

/// One MX host (or `-H` host) and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostFacts {
    /// The name as DNS or the command line gave it.
    pub name: String,
    /// Its MX preference; `None` for `-H` hosts.
    pub preference: Option<u16>,
    /// Every address checked, in the resolver's order; or why it had no
    /// address to check (lookup failed, none of the asked family).
    pub lookup: Result<Vec<AddressFacts>, Failure>,
    /// Its TLSA lookup (RFC 7672); `None` when DANE is off or the host
    /// has no name to look up.
    pub dane: Option<DaneFacts>,
}

/// A host's TLSA lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct DaneFacts {
    /// `_25._tcp.mx1.example` (RFC 6698 §3).
    pub tlsa_name: String,
    /// Whether the MX answer that named the host was DNSSEC-validated
    /// (its AD bit); `None` for `-H` hosts.
    pub mx_validated: Option<bool>,
    /// The records (none: NODATA or NXDOMAIN), or why the lookup failed.
    pub lookup: Result<TlsaAnswer, Failure>,
}

/// The TLSA records of a host and whether DNSSEC validated them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsaAnswer {
    pub records: Vec<Tlsa>,
    /// The AD bit of the answer (RFC 4035 §3.2.3).
    pub validated: bool,
}

impl HostFacts {
    /// The addresses checked (none when the lookup failed).
    pub fn addresses(&self) -> &[AddressFacts] {
        self.lookup.as_deref().unwrap_or_default()
    }

    /// Why it had no address to check, if so.
    pub fn lookup_failure(&self) -> Option<&Failure> {
        self.lookup.as_ref().err()
    }
}

/// The check of one address of a host.
#[derive(Clone, Debug, PartialEq)]
pub struct AddressFacts {
    pub address: SocketAddr,
    /// The stage in progress when the check ended: where it failed, or
    /// [`Stage::Quit`] when every check was done.
    pub reached: Stage,
    /// Why the address is down: connect, greeting or `EHLO` failed, or
    /// any stage timed out. What fails after the `220` to STARTTLS is a
    /// TLS failure ([`Tls::Failed`]), not this.
    pub failure: Option<Failure>,
    /// How long each step took.
    pub times: Times,
    /// The greeting as the server sent it (`220 mx.example ESMTP`).
    pub greeting: Option<String>,
    /// What became of STARTTLS.
    pub tls: Tls,
    /// The end-entity certificate the server presented, if any.
    pub certificate: Option<Certificate>,
    /// The chain as presented, end entity first (for DANE).
    pub chain: Vec<CertificateDer<'static>>,
    /// The chain matched against the host's validated, usable TLSA
    /// records; `None` when there are none (or DANE is off).
    pub dane: Option<DaneMatch>,
    /// With `-v`: the dialogue as etrn's `-v` shows it, server lines as
    /// received and ours as `>>> CMD` (empty without `-v`).
    pub dialogue: Vec<String>,
}

impl AddressFacts {
    /// A check of `address` that has not started yet.
    pub fn new(address: SocketAddr) -> AddressFacts {
        AddressFacts {
            address,
            reached: Stage::Connect,
            failure: None,
            times: Times::default(),
            greeting: None,
            tls: Tls::NotReached,
            certificate: None,
            chain: Vec::new(),
            dane: None,
            dialogue: Vec::new(),
        }
    }

    /// Whether the address could take mail: it greeted `220`, accepted
    /// `EHLO` or `HELO`, and nothing timed out (TLS and certificates are
    /// judged on their own).
    pub fn is_up(&self) -> bool {
        self.failure.is_none()
    }
}

/// How long the steps of one check took, each `None` until it is done:
/// the times the performance data and the `--json` `times` object show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Times {
    /// Establishing the TCP connection.
    pub connect: Option<Duration>,
    /// From the connection to the end of the `220` greeting.
    pub greeting: Option<Duration>,
    /// The `STARTTLS` command, its reply and the handshake (only when
    /// TLS was established).
    pub tls: Option<Duration>,
}

/// What became of STARTTLS on one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// The dialogue ended before `EHLO` was answered.
    NotReached,
    /// `EHLO` did not offer STARTTLS (or only `HELO` was accepted).
    NotOffered,
    /// STARTTLS was answered with another reply than `220` (RFC 3207 §4).
    Refused { reply: String },
    /// The `220` came, but the handshake failed or the server misbehaved.
    Failed { error: String },
    /// The handshake completed.
    Established {
        /// `TLSv1.3`, `TLSv1.2`.
        version: String,
        /// Why the certificate chain or name did not verify (`None`: it
        /// verified).
        verification_error: Option<String>,
    },
}

/// Facts of an end-entity certificate, read with x509-parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The subject's distinguished name (`CN=mx1.example`).
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// notAfter as RFC 3339 text (`2027-01-31T12:00:00Z`).
    pub not_after_text: String,
}

/// A domain's MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): what the
/// lookups and the policy fetch of [`super::policy`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct StsFacts {
    /// The `_mta-sts` TXT record: `Ok(None)` when none is published;
    /// `Err` when the lookup failed or the records cannot be used.
    pub txt: Result<Option<StsRecord>, Failure>,
    /// The policy, or why it was not had; `None` when not fetched (no
    /// usable TXT record).
    pub policy: Option<Result<Policy, Failure>>,
    /// The policy host as far as the TLS handshake got.
    pub policy_host: Option<PolicyHost>,
    /// The `_smtp._tls` record: `None` when none is published (or the
    /// lookup failed); `Err` when it cannot be used.
    pub tls_rpt: Option<Result<TlsRpt, String>>,
}

/// The HTTPS host the policy came from (or should have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyHost {
    pub address: SocketAddr,
    /// Its end-entity certificate, recorded even when it did not verify.
    pub certificate: Option<Certificate>,
    /// Why it did not verify for `mta-sts.<domain>` (`None`: it did).
    pub verification_error: Option<String>,
}
