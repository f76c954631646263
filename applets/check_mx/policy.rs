//! The MTA-STS and TLS-RPT lookups and the policy fetch: the only I/O of
//! [`super::mta_sts`]. The two TXT lookups run at once; with a usable
//! `_mta-sts` record the policy is fetched (RFC 8461 §3.3) from
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt`: the name resolved
//! as every other host, HTTP/1.1 (hyper) over rustls, the certificate
//! verified for that name by the run's verifier and recorded even when it
//! does not verify (a policy from an unverified host is not a policy).
//! No redirect is followed, only `200` with `text/plain` is a policy, and
//! at most [`MAX_POLICY_BYTES`] are read. Everything is done by the run's
//! deadline; what is not is a timeout.

use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use super::certificate;
use super::facts::{Failure, PolicyHost, StsFacts};
use super::mta_sts::{
    self, MAX_POLICY_BYTES, POLICY_HOST_LABEL, POLICY_PATH, Policy, TLSRPT_LABELS, TXT_LABEL,
    TxtOutcome,
};
use super::probe::Settings;
use crate::dns::{self, RData, RecordType};
use crate::names::HostName;
use crate::smtp::session::{connect, lookup, within};
use crate::smtp::{ErrorKind, Limits};

/// RFC 8461 §3.3: the policy is fetched over HTTPS.
const HTTPS_PORT: u16 = 443;
/// RFC 8461 §3.3: the media type of a policy.
const POLICY_MEDIA_TYPE: &str = "text/plain";
/// The most characters of a server's `Location` quoted in an error.
const MAX_QUOTED: usize = 200;

/// The policy URL of `domain`.
pub fn policy_url(domain: &str) -> String {
    format!("https://{POLICY_HOST_LABEL}.{domain}{POLICY_PATH}")
}

/// Looks up `domain`'s MTA-STS and TLS-RPT records and fetches its policy,
/// all by `settings.deadline`.
pub async fn discover(domain: &HostName, settings: &Settings) -> StsFacts {
    let domain = domain.without_root_dot().to_string();
    let (sts_name, tls_rpt_name) = (
        format!("{TXT_LABEL}.{domain}"),
        format!("{TLSRPT_LABELS}.{domain}"),
    );
    let (sts, tls_rpt) = tokio::join!(
        txt_records(&sts_name, settings),
        txt_records(&tls_rpt_name, settings),
    );
    let txt = sts.and_then(|records| match mta_sts::sts_record(&records) {
        TxtOutcome::Absent => Ok(None),
        TxtOutcome::Record(record) => Ok(Some(record)),
        TxtOutcome::Invalid { error, .. } => Err(Failure {
            message: error,
            timed_out: false,
        }),
    });
    let host: Slot = Arc::default();
    let policy = match &txt {
        Ok(Some(_)) => {
            let fetched = within(Some(settings.deadline), fetch(&domain, settings, &host)).await;
            Some(fetched.unwrap_or_else(|| Err(timed_out())))
        }
        _ => None,
    };
    let policy_host = host.lock().unwrap_or_else(PoisonError::into_inner).take();
    StsFacts {
        txt,
        policy,
        policy_host,
        // A failed TLS-RPT lookup is reported as no record: it has no status.
        tls_rpt: tls_rpt.ok().and_then(|records| mta_sts::tls_rpt(&records)),
    }
}

/// Where the fetch leaves the policy host's facts as it learns them, so
/// that a fetch cut short by the deadline still shows its certificate.
type Slot = Arc<Mutex<Option<PolicyHost>>>;

fn timed_out() -> Failure {
    Failure {
        message: "timed out".to_owned(),
        timed_out: true,
    }
}

fn failed(message: String) -> Failure {
    Failure {
        message,
        timed_out: false,
    }
}

/// The TXT records of `name`, each record's strings concatenated (RFC
/// 8461 §3.1, RFC 8460 §3); none when the name does not exist.
async fn txt_records(name: &str, settings: &Settings) -> Result<Vec<Vec<u8>>, Failure> {
    let name = HostName::parse(name).map_err(|error| failed(format!("{name}: {error}")))?;
    match dns::query(&name, RecordType::TXT, Some(settings.deadline)).await {
        Ok(answer) => Ok(answer
            .records
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt.txt_data.concat()),
                _ => None,
            })
            .collect()),
        Err(error) if error.kind == dns::DnsErrorKind::NoSuchDomain => Ok(Vec::new()),
        Err(error) => Err(Failure {
            timed_out: error.kind == dns::DnsErrorKind::TimedOut,
            message: error.to_string(),
        }),
    }
}

/// Fetches and reads the policy of `domain`, the policy host's facts
/// left in `slot`.
async fn fetch(domain: &str, settings: &Settings, slot: &Slot) -> Result<Policy, Failure> {
    let host = format!("{POLICY_HOST_LABEL}.{domain}");
    let limits = Limits {
        overall: Some(settings.deadline),
        per_phase: None,
    };
    let smtp_failure = |error: crate::smtp::Error| Failure {
        timed_out: matches!(error.kind, ErrorKind::TimedOut(_)),
        message: format!("{host}: {}", error.kind),
    };
    let addresses = lookup(&host, HTTPS_PORT, limits)
        .await
        .map_err(smtp_failure)?;
    // The first address that takes the connection (RFC 8305 order).
    let mut last = None;
    let mut connected = None;
    for address in addresses {
        match connect(&host, address, limits).await {
            Ok(tcp) => {
                connected = Some((tcp, address));
                break;
            }
            Err(error) => last = Some(smtp_failure(error)),
        }
    }
    let Some((tcp, address)) = connected else {
        return Err(last.unwrap_or_else(|| failed(format!("{host}: no address"))));
    };
    let name =
        ServerName::try_from(host.clone()).map_err(|error| failed(format!("{host}: {error}")))?;
    let (connector, seen) = certificate::recording_connector(&settings.trust);
    let handshake = connector.connect(name, tcp).await;
    // What the verifier saw, whatever became of the handshake.
    let (certificate, verification_error) = certificate::take(&seen)
        .map_or((None, None), |taken| {
            (taken.certificate, taken.verification_error)
        });
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(PolicyHost {
        address,
        certificate,
        verification_error: verification_error.clone(),
    });
    let tls = handshake
        .map_err(|error| failed(format!("{host}[{}]: TLS handshake: {error}", address.ip())))?;
    if let Some(error) = verification_error {
        return Err(failed(format!("{host}: certificate not verified: {error}")));
    }
    let body = get(&host, tls).await?;
    mta_sts::parse_policy(&body).map_err(failed)
}

/// `GET` the policy path over `tls`: the body of a `200` `text/plain`
/// answer of at most [`MAX_POLICY_BYTES`].
async fn get<S>(host: &str, tls: S) -> Result<Vec<u8>, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let http = |what: String| failed(format!("{host}: {what}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|error| http(format!("HTTP: {error}")))?;
    let request = Request::get(POLICY_PATH)
        .header(HOST, host)
        .header(
            USER_AGENT,
            concat!("smtpbox-check_mx/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|error| http(format!("HTTP request: {error}")))?;
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| http(format!("HTTP: {error}")))?;
        let status = response.status();
        let headers = response.headers();
        let header = |name| {
            headers.get(name).map(|value: &hyper::header::HeaderValue| {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            })
        };
        if status.is_redirection() {
            let location = header(LOCATION).map_or_else(
                || "nowhere".to_owned(),
                |location| location.chars().take(MAX_QUOTED).collect(),
            );
            return Err(http(format!(
                "HTTP {} redirects to {location:?}, not followed (RFC 8461 §3.3)",
                status_text(status)
            )));
        }
        if status != StatusCode::OK {
            return Err(http(format!("HTTP {}", status_text(status))));
        }
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case(POLICY_MEDIA_TYPE) {
            return Err(http(format!(
                "Content-Type {content_type:?}, not text/plain (RFC 8461 §3.3)"
            )));
        }
        let too_large = || http(format!("policy larger than {MAX_POLICY_BYTES} bytes"));
        let announced = header(CONTENT_LENGTH).and_then(|length| length.trim().parse::<u64>().ok());
        if announced.is_some_and(|length| length > MAX_POLICY_BYTES as u64) {
            return Err(too_large());
        }
        let body = Limited::new(response.into_body(), MAX_POLICY_BYTES)
            .collect()
            .await
            .map_err(|error| {
                if error.downcast_ref::<LengthLimitError>().is_some() {
                    too_large()
                } else {
                    http(format!("HTTP body: {error}"))
                }
            })?;
        Ok(body.to_bytes().to_vec())
    };
    // The connection is driven beside the exchange; when it ends first,
    // the exchange learns why from hyper.
    let drive = async {
        let _ = connection.await;
        std::future::pending().await
    };
    tokio::select! {
        result = exchange => result,
        never = drive => never,
    }
}

/// `404 Not Found`.
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
