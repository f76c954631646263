//! What a run needs, all checked before anything is sent: the session
//! settings and the names from the command line, the credentials file
//! (`--netrc`, or [`DEFAULT_NETRC`] at boot: private, parsed by
//! [`crate::netrc`]), and the value of ETRN_HOSTS from its sources (the
//! environment, `--defaults`, the system's defaults files, parsed by
//! [`super::shell_vars`], never run).

use std::fmt;
use std::path::{Path, PathBuf};

use super::Cli;
use super::StartTls;
use super::session::SessionSettings;
use super::shell_vars;
use crate::applet::AppletError;
use crate::files;
use crate::names::{EtrnArgument, HostName, Quoted};
use crate::netrc::{self, Machine, Netrc};
use crate::report::Reporter;
use crate::secret::wipe;
use crate::smtp::resolve::canonical_host_name;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};

/// Where ETRN_HOSTS is looked for when `--defaults` is not given, in order.
pub const DEFAULTS_FILES: [&str; 2] = ["/etc/default/smtpbox", "/etc/default/sendmail"];

/// The credentials file `etrn --etrn-hosts` reads when `--netrc` is not
/// given and it exists.
pub const DEFAULT_NETRC: &str = "/etc/smtpbox/netrc";

/// A credentials file larger than this is not one.
const MAX_NETRC_BYTES: usize = 64 << 10;

/// The session settings: names checked, credentials and CA file read, EHLO
/// name found.
pub(super) async fn session_settings(
    cli: &Cli,
    reporter: &Reporter,
) -> Result<SessionSettings, AppletError> {
    let credentials = credentials(cli)?;
    let timeout = cli.timeout.limit();
    let helo = match &cli.helo {
        Some(name) => {
            HostName::parse(name).map_err(|reason| {
                AppletError::usage(format_args!("invalid --helo {}: {reason}", Quoted(name)))
            })?;
            name.clone()
        }
        None => canonical_host_name(timeout).await,
    };
    let mode = match cli.starttls {
        StartTls::Off => TlsMode::Off,
        StartTls::Opportunistic => TlsMode::Opportunistic,
        StartTls::Require => TlsMode::Require,
    };
    if cli.ca_file.is_some() && mode != TlsMode::Require && credentials.is_none() {
        return Err(AppletError::usage(
            "--ca-file needs --starttls require or --netrc",
        ));
    }
    if let Some((path, _)) = &credentials
        && mode == TlsMode::Off
        && !cli.auth_plaintext
    {
        return Err(AppletError::usage(format_args!(
            "--starttls off would send the credentials of {} without TLS; \
             add --auth-plaintext to allow that",
            path.display()
        )));
    }
    let policy = TlsPolicy {
        mode,
        ca_file: cli.ca_file.clone(),
    };
    let ca_connector = match &cli.ca_file {
        Some(_) => Some(tls::connector(&policy).map_err(AppletError::usage)?),
        None => None,
    };
    Ok(SessionSettings {
        port: cli.port,
        timeout,
        helo,
        tls: policy,
        ca_connector,
        credentials: credentials.map(|(_, netrc)| netrc),
        auth_plaintext: cli.auth_plaintext,
        reporter: reporter.clone(),
    })
}

/// The credentials of `--netrc` (which must exist) or, with
/// `--etrn-hosts`, of [`DEFAULT_NETRC`] when it exists; with the file's
/// path. Once a file with credentials is read, the process is made
/// undumpable (no core dump or ptrace by other processes of the user holds
/// the password).
fn credentials(cli: &Cli) -> Result<Option<(PathBuf, Netrc)>, AppletError> {
    let path = match (&cli.netrc, cli.etrn_hosts) {
        (Some(path), _) => path.clone(),
        (None, true) => PathBuf::from(DEFAULT_NETRC),
        (None, false) if cli.auth_plaintext => {
            return Err(AppletError::usage("--auth-plaintext needs --netrc"));
        }
        (None, false) => return Ok(None),
    };
    let netrc = match credentials_in(&path) {
        Ok(netrc) => netrc,
        Err(ConfigFileError::Read(error)) if cli.netrc.is_none() && error.is_not_found() => {
            return Ok(None);
        }
        Err(error) => return Err(AppletError::usage(error)),
    };
    if !netrc.entries.is_empty() {
        // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes this process's
        // dumpable flag; it has no memory-safety preconditions.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    }
    Ok(Some((path, netrc)))
}

/// The credentials file at `path`: private to us (checked on the open
/// file), parsed, every entry with a login and a password. The bytes read
/// are wiped once parsed.
fn credentials_in(path: &Path) -> Result<Netrc, ConfigFileError> {
    let named = || path.to_owned();
    let mut bytes = files::read_private(path, MAX_NETRC_BYTES).map_err(ConfigFileError::Read)?;
    let parsed = match std::str::from_utf8(&bytes) {
        Ok(text) => {
            netrc::parse(text).map_err(|error| ConfigFileError::Parse(named(), error.to_string()))
        }
        Err(_) => Err(ConfigFileError::NotUtf8(named())),
    };
    wipe(&mut bytes);
    let netrc = parsed?;
    for entry in &netrc.entries {
        let what = match (&entry.login, &entry.password) {
            (Some(_), Some(_)) => continue,
            (None, _) => "no login",
            (_, None) => "no password",
        };
        let machine = match &entry.machine {
            Machine::Name(name) => format!("machine {}", name.escape_debug()),
            Machine::Default => "default".to_owned(),
        };
        let incomplete = format!("line {}: {machine} has {what}", entry.line);
        return Err(ConfigFileError::Parse(named(), incomplete));
    }
    Ok(netrc)
}

/// The server and client hosts of `etrn SERVER [CLIENTS]`.
pub(super) fn server_and_clients(cli: &Cli) -> Result<(HostName, Vec<EtrnArgument>), AppletError> {
    let server = cli.server_host.as_deref().unwrap_or_default();
    let server = HostName::parse(server).map_err(|reason| {
        AppletError::usage(format_args!(
            "invalid server-host {}: {reason}",
            Quoted(server)
        ))
    })?;
    let clients = cli
        .client_hosts
        .iter()
        .map(|client| {
            EtrnArgument::parse(client).map_err(|reason| {
                AppletError::usage(format_args!(
                    "invalid client-host {}: {reason}",
                    Quoted(client)
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((server, clients))
}

/// ETRN_HOSTS: from the environment if set, else from `defaults` (which
/// must exist), else from the first of [`DEFAULTS_FILES`] that assigns it.
pub fn etrn_hosts_value(defaults: Option<&Path>) -> Result<Option<String>, AppletError> {
    if let Some(value) = std::env::var_os("ETRN_HOSTS") {
        return value
            .into_string()
            .map(Some)
            .map_err(|_| AppletError::usage("ETRN_HOSTS is not valid UTF-8"));
    }
    if let Some(path) = defaults {
        return etrn_hosts_in(path).map_err(AppletError::usage);
    }
    for path in DEFAULTS_FILES.map(Path::new) {
        match etrn_hosts_in(path) {
            Ok(Some(value)) => return Ok(Some(value)),
            Ok(None) => {}
            Err(ConfigFileError::Read(error)) if error.is_not_found() => {}
            Err(error) => return Err(AppletError::usage(error)),
        }
    }
    Ok(None)
}

/// A defaults or credentials file that cannot be used, named.
#[derive(Debug)]
enum ConfigFileError {
    Read(files::FileError),
    NotUtf8(PathBuf),
    /// What is wrong, with its line.
    Parse(PathBuf, String),
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read(error) => write!(f, "{error}"),
            ConfigFileError::NotUtf8(path) => write!(f, "{}: not valid UTF-8", path.display()),
            ConfigFileError::Parse(path, error) => write!(f, "{}: {error}", path.display()),
        }
    }
}

/// The last value assigned to ETRN_HOSTS in the shell-assignment file at
/// `path`.
fn etrn_hosts_in(path: &Path) -> Result<Option<String>, ConfigFileError> {
    let named = || path.to_owned();
    let bytes = files::read(path, shell_vars::MAX_TEXT_BYTES).map_err(ConfigFileError::Read)?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigFileError::NotUtf8(named()))?;
    shell_vars::find_variable(&text, "ETRN_HOSTS")
        .map_err(|error| ConfigFileError::Parse(named(), error.to_string()))
}
