//! DNS queries through the system's own resolver, answers read by
//! hickory-proto.
//!
//! The query is glibc's `res_query`, so `/etc/resolv.conf` applies as for
//! every other program (name servers, `timeout`, `attempts`, `rotate`,
//! `edns0`, `trust-ad`), a truncated UDP answer is retried over TCP and the
//! recursive server follows CNAMEs. Since glibc 2.34 `res_query` lives in
//! libc itself, so nothing more is loaded. The answer is a whole DNS
//! message, parsed by hickory-proto: its records (MX here; TLSA and TXT for
//! whoever asks) and its header (the AD bit, which glibc passes on only
//! with `options trust-ad`).
//!
//! `res_query` blocks, so it runs on a blocking thread under the caller's
//! deadline; a stuck one never delays the exit ([`crate::runtime`]).

use std::ffi::{CString, c_char, c_int, c_uchar};
use std::fmt;

use hickory_proto::op::Message;
pub use hickory_proto::rr::{RData, Record, RecordType};
use tokio::time::Instant;

use crate::names::{HostName, NameError};
use crate::smtp::session::within;

/// RFC 1035 §3.2.4: the Internet class.
const CLASS_IN: c_int = 1;
/// RFC 1035 §4.2.2: the most a DNS message (over TCP) can hold.
const MAX_MESSAGE: usize = 65_535;

/// `h_errno` values (netdb.h) after a failed `res_query`.
const HOST_NOT_FOUND: c_int = 1;
const TRY_AGAIN: c_int = 2;
const NO_RECOVERY: c_int = 3;
const NO_DATA: c_int = 4;

unsafe extern "C" {
    /// resolv.h; in libc since glibc 2.34.
    fn res_query(
        name: *const c_char,
        class: c_int,
        record_type: c_int,
        answer: *mut c_uchar,
        capacity: c_int,
    ) -> c_int;
    /// This thread's `h_errno` (netdb.h).
    fn __h_errno_location() -> *mut c_int;
}

/// What a query found.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The answer section's records of the type asked for (the CNAME
    /// chain the recursive server followed is passed over).
    pub records: Vec<Record>,
    /// RFC 4035 §3.2.3: the AD bit, set by a validating resolver (and kept
    /// by glibc only with `options trust-ad`).
    pub authentic: bool,
}

impl Answer {
    /// The smallest TTL of the records, `None` when there are none.
    pub fn min_ttl(&self) -> Option<u32> {
        self.records.iter().map(|record| record.ttl).min()
    }
}

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsErrorKind {
    /// NXDOMAIN: the name does not exist.
    NoSuchDomain,
    /// SERVFAIL, or no name server answered in time (glibc tells these
    /// apart from nothing else: `TRY_AGAIN`).
    TryAgain,
    /// The name server refused the query or did not understand it
    /// (`NO_RECOVERY`: REFUSED, FORMERR, NOTIMP).
    Refused,
    /// The lookup did not finish within the limit.
    TimedOut,
    /// The answer could not be parsed.
    Malformed,
    /// The resolver could not be used at all.
    Unavailable(String),
}

/// A failed query, naming the name and the record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsError {
    pub name: String,
    pub record_type: RecordType,
    pub kind: DnsErrorKind,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} lookup: ", self.name, self.record_type)?;
        match &self.kind {
            DnsErrorKind::NoSuchDomain => f.write_str("no such domain (NXDOMAIN)"),
            DnsErrorKind::TryAgain => {
                f.write_str("no answer (SERVFAIL, or the name servers did not answer)")
            }
            DnsErrorKind::Refused => f.write_str("the name server refused the query"),
            DnsErrorKind::TimedOut => f.write_str("timed out"),
            DnsErrorKind::Malformed => f.write_str("malformed answer"),
            DnsErrorKind::Unavailable(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// The owner name of a TCP service's TLSA records (RFC 6698 §3):
/// `_<port>._tcp.<host>`, e.g. `_25._tcp.mx1.example` (RFC 7672 §2.2.1).
/// The underscore labels are no host name's, but nothing in them can
/// reach a dialogue: the whole is checked by the one set of name rules.
pub fn tcp_service_name(port: u16, host: &HostName) -> Result<HostName, NameError> {
    let host = host.without_root_dot();
    HostName::parse(&format!("_{port}._tcp.{host}"))
}

/// Asks for `name`'s records of `record_type`, all of it done by
/// `deadline`. A name that exists without such records is an empty
/// answer, not an error.
pub async fn query(
    name: &HostName,
    record_type: RecordType,
    deadline: Option<Instant>,
) -> Result<Answer, DnsError> {
    let error = |kind| DnsError {
        name: name.to_string(),
        record_type,
        kind,
    };
    let text = name.to_string();
    let asked = tokio::task::spawn_blocking(move || system_query(&text, record_type));
    match within(deadline, asked).await {
        None => Err(error(DnsErrorKind::TimedOut)),
        Some(Err(join)) => Err(error(DnsErrorKind::Unavailable(join.to_string()))),
        Some(Ok(Err(kind))) => Err(error(kind)),
        Some(Ok(Ok(None))) => Ok(Answer {
            records: Vec::new(),
            authentic: false,
        }),
        Some(Ok(Ok(Some(message)))) => read_answer(&message, record_type).map_err(error),
    }
}

/// The records of `record_type` in a whole DNS message, and its AD bit.
pub fn read_answer(message: &[u8], record_type: RecordType) -> Result<Answer, DnsErrorKind> {
    let message = Message::from_vec(message).map_err(|_| DnsErrorKind::Malformed)?;
    let authentic = message.metadata.authentic_data;
    let records = message
        .answers
        .into_iter()
        .filter(|record| record.record_type() == record_type)
        .collect();
    Ok(Answer { records, authentic })
}

/// `res_query` for `name` (made fully qualified, so resolv.conf's search
/// list does not apply): the answer message, or `None` when the name
/// exists without such records. Blocks for as long as resolv.conf lets
/// glibc wait.
fn system_query(name: &str, record_type: RecordType) -> Result<Option<Vec<u8>>, DnsErrorKind> {
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let fqdn = CString::new(fqdn).map_err(|_| DnsErrorKind::Malformed)?;
    let mut answer = vec![0u8; MAX_MESSAGE];
    let capacity = c_int::try_from(answer.len()).unwrap_or(c_int::MAX);
    let wanted = c_int::from(u16::from(record_type));
    // SAFETY: a NUL-terminated name and a buffer of `capacity` bytes;
    // res_query uses this thread's own resolver state.
    let length = unsafe {
        res_query(
            fqdn.as_ptr(),
            CLASS_IN,
            wanted,
            answer.as_mut_ptr(),
            capacity,
        )
    };
    if length < 0 {
        // SAFETY: this thread's h_errno, just set by res_query.
        return match unsafe { *__h_errno_location() } {
            NO_DATA => Ok(None),
            HOST_NOT_FOUND => Err(DnsErrorKind::NoSuchDomain),
            NO_RECOVERY => Err(DnsErrorKind::Refused),
            TRY_AGAIN => Err(DnsErrorKind::TryAgain),
            _ => Err(DnsErrorKind::TryAgain),
        };
    }
    let length = usize::try_from(length).unwrap_or(0).min(answer.len());
    answer.truncate(length);
    Ok(Some(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::{CNAME, MX, TXT};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).expect("a test name")
    }

    /// A response for `d.test.` MX: a CNAME, two MX records and a TXT.
    fn response(authentic: bool) -> Vec<u8> {
        let mut message = Message::new(7, MessageType::Response, OpCode::Query);
        message.metadata.authentic_data = authentic;
        message.add_query(Query::query(name("d.test."), RecordType::MX));
        let records = [
            Record::from_rdata(name("d.test."), 30, RData::CNAME(CNAME(name("e.test.")))),
            Record::from_rdata(
                name("e.test."),
                300,
                RData::MX(MX::new(10, name("mx1.e.test."))),
            ),
            Record::from_rdata(
                name("e.test."),
                200,
                RData::MX(MX::new(20, name("mx2.e.test."))),
            ),
            Record::from_rdata(name("e.test."), 5, RData::TXT(TXT::new(vec!["x".into()]))),
        ];
        message.add_answers(records);
        message.to_vec().expect("a message")
    }

    #[test]
    fn records_of_the_type_asked_and_the_ad_bit() {
        let answer = read_answer(&response(true), RecordType::MX).expect("parses");
        assert!(answer.authentic);
        assert_eq!(answer.records.len(), 2);
        assert_eq!(answer.min_ttl(), Some(200));
        let answer = read_answer(&response(false), RecordType::TXT).expect("parses");
        assert!(!answer.authentic);
        assert_eq!(answer.records.len(), 1);
    }

    #[test]
    fn garbage_and_truncated_messages_are_malformed() {
        let whole = response(false);
        for bytes in [&[][..], &[0xff; 5][..], &whole[..whole.len() - 3]] {
            assert_eq!(
                read_answer(bytes, RecordType::MX),
                Err(DnsErrorKind::Malformed),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn the_tlsa_name_of_a_tcp_service() {
        let host = HostName::parse("mx1.d.test.").expect("a name");
        let name = tcp_service_name(25, &host).expect("a name");
        assert_eq!(name.to_string(), "_25._tcp.mx1.d.test");
        let long = HostName::parse(&"a".repeat(250)).expect("a name");
        assert!(tcp_service_name(25, &long).is_err());
    }

    #[test]
    fn errors_name_the_name_and_the_type() {
        let error = DnsError {
            name: "d.test".into(),
            record_type: RecordType::MX,
            kind: DnsErrorKind::NoSuchDomain,
        };
        assert_eq!(
            error.to_string(),
            "d.test: MX lookup: no such domain (NXDOMAIN)"
        );
    }
}
