//! Boot time: `-b` (wait until the local MTA greets, so the server does not
//! deliver before we can accept) and `--etrn-hosts` (kick every configured
//! server, retrying while the network comes up, one log line per group).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::defaults;
use super::flush::{Settings, flush};
use super::verdict::{Outcome, Summary};
use crate::smtp::{Error, Limits, Session};

/// `-b` waits between attempts on the local MTA: about 30 s in all, like
/// the legacy 2+4+8+16 s, but starting sooner.
pub const LOCAL_MTA_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
];
/// `--etrn-hosts`: first wait before retrying a group, doubled each time...
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);
/// ...up to this.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// Where ETRN_HOSTS is looked for when `--defaults` is not given, in order.
pub const DEFAULTS_FILES: [&str; 2] = ["/etc/default/smtpbox", "/etc/default/sendmail"];

/// Waits until `localhost:port` greets `220`, retrying with back-off;
/// returns the last failure when it never does.
pub async fn wait_for_local_mta(port: u16, timeout: Option<Duration>) -> Result<(), Error> {
    let limits = Limits {
        overall: None,
        per_phase: timeout,
    };
    let mut last_error = None;
    let delays = std::iter::once(Duration::ZERO).chain(LOCAL_MTA_RETRY_DELAYS);
    for delay in delays {
        tokio::time::sleep(delay).await;
        match Session::open("localhost", port, limits, None).await {
            Ok(session) => {
                session.quit().await;
                return Ok(());
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(unreachable_local))
}

fn unreachable_local() -> Error {
    Error {
        server: "localhost".to_owned(),
        address: None,
        phase: crate::smtp::Phase::Connect,
        kind: crate::smtp::ErrorKind::TimedOut(None),
    }
}

/// ETRN_HOSTS: from the environment if set, else from `defaults` (which
/// must exist), else from the first of [`DEFAULTS_FILES`] that assigns it.
/// Files are parsed, never run by a shell.
pub fn etrn_hosts_value(defaults: Option<&Path>) -> Result<Option<String>, String> {
    if let Some(value) = std::env::var_os("ETRN_HOSTS") {
        return value
            .into_string()
            .map(Some)
            .map_err(|_| "ETRN_HOSTS is not valid UTF-8".to_owned());
    }
    if let Some(path) = defaults {
        return read_etrn_hosts(path);
    }
    for path in DEFAULTS_FILES.map(Path::new) {
        if path.exists() {
            if let Some(value) = read_etrn_hosts(path)? {
                return Ok(Some(value));
            }
        }
    }
    Ok(None)
}

fn read_etrn_hosts(path: &Path) -> Result<Option<String>, String> {
    const MAX_DEFAULTS_LEN: u64 = 1 << 20;
    let meta = std::fs::metadata(path).map_err(|err| format!("{}: {err}", path.display()))?;
    if meta.len() > MAX_DEFAULTS_LEN {
        return Err(format!("{}: file too large", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    defaults::find_variable(&text, "ETRN_HOSTS").map_err(|err| format!("{}: {err}", path.display()))
}

/// One ETRN_HOSTS group ready to run.
pub struct Job {
    pub server: String,
    pub clients: Vec<String>,
}

/// Runs every job concurrently, retrying each that may do better later
/// until `retry_for` has passed; logs one line per job; returns each
/// job's exit status.
pub async fn kick(jobs: Vec<Job>, settings: Arc<Settings>, retry_for: Duration) -> Vec<u8> {
    let give_up_at = Instant::now() + retry_for;
    let mut tasks = JoinSet::new();
    for (index, job) in jobs.into_iter().enumerate() {
        let settings = Arc::clone(&settings);
        tasks.spawn(async move {
            let outcome = flush_with_retries(&job, &settings, give_up_at).await;
            log_group(&job.server, &outcome);
            (index, outcome.exit_status())
        });
    }
    let mut statuses = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // A task can only fail by panicking; count it as unreachable.
        statuses.push(joined.map_or(super::verdict::EXIT_UNREACHABLE, |(_, status)| status));
    }
    statuses
}

async fn flush_with_retries(job: &Job, settings: &Settings, give_up_at: Instant) -> Outcome {
    let mut delay = FIRST_RETRY_DELAY;
    loop {
        let outcome = flush(&job.server, &job.clients, settings).await;
        if !outcome.worth_retrying() || Instant::now() + delay >= give_up_at {
            return outcome;
        }
        log_line(
            Level::Info,
            &format!(
                "{}; retrying in {}s",
                Summary {
                    server: &job.server,
                    outcome: &outcome
                },
                delay.as_secs()
            ),
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

fn log_group(server: &str, outcome: &Outcome) {
    let level = match outcome.exit_status() {
        super::verdict::EXIT_OK => Level::Info,
        super::verdict::EXIT_REFUSED => Level::Warning,
        _ => Level::Error,
    };
    log_line(level, &Summary { server, outcome }.to_string());
}

/// sd-daemon(3) priorities.
#[derive(Clone, Copy)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
}

/// Writes `etrn: LINE` to stderr, with an sd-daemon priority prefix when
/// stderr is the journal.
pub fn log_line(level: Level, line: &str) {
    let prefix = if stderr_is_journal() {
        format!("<{}>", level as u8)
    } else {
        String::new()
    };
    let _ = writeln!(std::io::stderr().lock(), "{prefix}etrn: {line}");
}

/// systemd sets JOURNAL_STREAM to `DEVICE:INODE` of the stream it connected;
/// it only counts when that is still our stderr (systemd.exec(5)).
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    // SAFETY: fstat on our own stderr descriptor with a zeroed stat buffer.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstat(std::io::stderr().as_raw_fd(), &mut stat) };
    rc == 0 && device.parse() == Ok(stat.st_dev) && inode.parse() == Ok(stat.st_ino)
}
