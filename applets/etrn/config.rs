//! What a run needs, all checked before anything is sent: the session
//! settings and the names from the command line, and the value of
//! ETRN_HOSTS from its sources (the environment, `--defaults`, the
//! system's defaults files, parsed by [`super::shell_vars`], never run).

use std::fmt;
use std::path::{Path, PathBuf};

use super::Cli;
use super::StartTls;
use super::session::SessionSettings;
use super::shell_vars;
use crate::applet::AppletError;
use crate::files;
use crate::names::{EtrnArgument, HostName};
use crate::report::Reporter;
use crate::smtp::resolve::canonical_host_name;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};

/// Where ETRN_HOSTS is looked for when `--defaults` is not given, in order.
pub const DEFAULTS_FILES: [&str; 2] = ["/etc/default/smtpbox", "/etc/default/sendmail"];

/// The session settings: names checked, EHLO name found, CA file read.
pub(super) async fn session_settings(
    cli: &Cli,
    reporter: &Reporter,
) -> Result<SessionSettings, AppletError> {
    let timeout = cli.timeout.limit();
    let helo = match &cli.helo {
        Some(name) => {
            HostName::parse(name).map_err(|reason| {
                AppletError::usage(format_args!(
                    "invalid --helo '{}': {reason}",
                    name.escape_debug()
                ))
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
    if cli.ca_file.is_some() && mode != TlsMode::Require {
        return Err(AppletError::usage("--ca-file needs --starttls require"));
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
        reporter: reporter.clone(),
    })
}

/// The server and client hosts of `etrn SERVER [CLIENTS]`.
pub(super) fn server_and_clients(cli: &Cli) -> Result<(HostName, Vec<EtrnArgument>), AppletError> {
    let server = cli.server_host.as_deref().unwrap_or_default();
    let server = HostName::parse(server).map_err(|reason| {
        AppletError::usage(format_args!(
            "invalid server-host '{}': {reason}",
            server.escape_debug()
        ))
    })?;
    let clients = cli
        .client_hosts
        .iter()
        .map(|client| {
            EtrnArgument::parse(client).map_err(|reason| {
                AppletError::usage(format_args!(
                    "invalid client-host '{}': {reason}",
                    client.escape_debug()
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
            Err(DefaultsFileError::Read(error)) if error.is_not_found() => {}
            Err(error) => return Err(AppletError::usage(error)),
        }
    }
    Ok(None)
}

/// A defaults file that cannot be used, named.
#[derive(Debug)]
enum DefaultsFileError {
    Read(files::FileError),
    NotUtf8(PathBuf),
    Parse(PathBuf, shell_vars::ShellVarsError),
}

impl fmt::Display for DefaultsFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultsFileError::Read(error) => write!(f, "{error}"),
            DefaultsFileError::NotUtf8(path) => write!(f, "{}: not valid UTF-8", path.display()),
            DefaultsFileError::Parse(path, error) => write!(f, "{}: {error}", path.display()),
        }
    }
}

/// The last value assigned to ETRN_HOSTS in the shell-assignment file at
/// `path`.
fn etrn_hosts_in(path: &Path) -> Result<Option<String>, DefaultsFileError> {
    let named = || path.to_owned();
    let bytes = files::read(path, shell_vars::MAX_TEXT_BYTES).map_err(DefaultsFileError::Read)?;
    let text = String::from_utf8(bytes).map_err(|_| DefaultsFileError::NotUtf8(named()))?;
    shell_vars::find_variable(&text, "ETRN_HOSTS")
        .map_err(|error| DefaultsFileError::Parse(named(), error))
}
