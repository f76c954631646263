//! etrn: ask a mail server to start delivering its queue for some hosts
//! (RFC 1985). Keeps the Solaris/illumos etrn(1M) command line and `-v`
//! output, and fixes its faults: CRLF line ends, no session after a non-220
//! greeting, no sleeps, exit statuses from the replies, every address and
//! IPv6, STARTTLS, and a boot-time kick that retries and says what happened.
//!
//! Layout: [`verdict`] reads replies and decides exit statuses, [`flush`]
//! runs one session, [`boot`] does `-b` and `--etrn-hosts`, [`discovery`]
//! with [`sendmail_cf`] finds the names sendmail accepts, [`etrn_hosts`] and
//! [`defaults`] read the configuration. This file is the command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};

use crate::args::{parse_or_status, parse_seconds};
use crate::runtime::{block_on, print_stdout};
use crate::smtp::resolve::canonical_host_name;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};

pub mod boot;
pub mod defaults;
pub mod discovery;
pub mod etrn_hosts;
pub mod flush;
pub mod sendmail_cf;
pub mod verdict;

use boot::{Job, Level, log_line};
use flush::Settings;
use verdict::{EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, EtrnAnswer, Outcome, interpret, worst};

const NAME: &str = "etrn";

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  every ETRN was accepted (2xx)
  1  the server answered, but ETRN is not supported or some ETRN was refused
  2  usage or configuration error; nothing was sent
  3  the server could not be reached, greeted or finish the dialogue in time,
     or TLS was required and failed
With --etrn-hosts: the highest status of all groups.

Client hosts are NAME, @DOMAIN (also its subdomains) or #QUEUE (RFC 1985).
With no client hosts, every name the local sendmail accepts mail for is used
(this host's canonical name, or the --helo name when given; the Cw and Fw
entries of sendmail.cf; localhost skipped), and -b is implied.
-b tries localhost:--local-port until it greets 220: at once, then after
1, 2, 4, 8 and 15 seconds (about 30 s in all), then gives up with status 3.
After the 220 to STARTTLS, any plaintext the server sent before the
handshake is refused, never read as a reply.
ETRN_HOSTS is read from the environment, else --defaults, else
/etc/default/smtpbox, else /etc/default/sendmail (parsed, never executed).";

/// STARTTLS policy on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StartTls {
    /// never use STARTTLS
    Off,
    /// use it when offered, without certificate checks; fall back to plaintext
    Opportunistic,
    /// always; fail unless the certificate verifies for the server name
    Require,
}

/// etrn's command line.
#[derive(Parser, Debug)]
#[command(
    name = NAME,
    version,
    about = "Ask a mail server to start delivering its queue for some hosts (RFC 1985)",
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    /// Boot: first make sure the local MTA accepts SMTP (greets 220)
    #[arg(short = 'b')]
    boot: bool,

    /// Show the SMTP dialogue and one result line per client on stdout
    #[arg(short, long)]
    verbose: bool,

    /// TCP port of the servers
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,

    /// Seconds each phase may take (connect, greeting, each reply, TLS
    /// handshake); fractions allowed; 0 means no limit
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    timeout: Duration,

    /// Name to send in EHLO (default: this host's canonical name)
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,

    /// sendmail configuration that lists the accepted names
    #[arg(long, value_name = "PATH", default_value = discovery::DEFAULT_SENDMAIL_CF)]
    sendmail_cf: PathBuf,

    /// Port of the local MTA for -b
    #[arg(long, value_name = "N", default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
    local_port: u16,

    /// When to use STARTTLS
    #[arg(long, value_name = "MODE", value_enum, default_value_t = StartTls::Opportunistic)]
    starttls: StartTls,

    /// Trust only the CA certificates in this PEM file (with --starttls require)
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,

    /// Kick every server in ETRN_HOSTS (boot time; implies -b)
    #[arg(long, conflicts_with_all = ["server_host", "client_hosts"])]
    etrn_hosts: bool,

    /// Where to read ETRN_HOSTS when it is not in the environment
    #[arg(long, value_name = "PATH")]
    defaults: Option<PathBuf>,

    /// With --etrn-hosts: keep retrying unreachable or 4xx servers this long
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = parse_seconds)]
    retry_for: Duration,

    /// The mail server to ask
    #[arg(value_name = "SERVER-HOST", required_unless_present = "etrn_hosts")]
    server_host: Option<String>,

    /// Hosts whose mail to deliver: NAME, @DOMAIN or #QUEUE
    #[arg(value_name = "CLIENT-HOSTS")]
    client_hosts: Vec<String>,
}

/// The command-line definition (help, man page, completions).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs etrn; returns its exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let cli: Cli = match parse_or_status(args) {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    match block_on(main(cli)) {
        Ok(status) => status,
        Err(err) => {
            crate::say!("{NAME}: cannot start the async runtime: {err}");
            EXIT_USAGE
        }
    }
}

async fn main(cli: Cli) -> u8 {
    if cli.defaults.is_some() && !cli.etrn_hosts {
        return usage_error("--defaults is only used with --etrn-hosts");
    }
    // Read ETRN_HOSTS before anything that may wait (the canonical name
    // lookup): at boot an empty configuration must cost nothing.
    let etrn_hosts = if cli.etrn_hosts {
        match boot::etrn_hosts_value(cli.defaults.as_deref()) {
            Ok(Some(value)) if !value.trim().is_empty() => Some(value),
            Ok(_) => {
                log_line(Level::Info, "ETRN_HOSTS is empty or unset: nothing to do");
                return EXIT_OK;
            }
            Err(message) => return usage_error(&message),
        }
    } else {
        None
    };
    let settings = match settings(&cli).await {
        Ok(settings) => settings,
        Err(message) => return usage_error(&message),
    };
    match etrn_hosts {
        Some(value) => kick_etrn_hosts(&cli, &value, settings).await,
        None => single_server(&cli, settings).await,
    }
}

fn usage_error(message: &str) -> u8 {
    crate::say!("{NAME}: {message}");
    EXIT_USAGE
}

/// Everything checked before any connection: names, TLS files.
async fn settings(cli: &Cli) -> Result<Settings, String> {
    let timeout = (!cli.timeout.is_zero()).then_some(cli.timeout);
    if let Some(server) = &cli.server_host {
        etrn_hosts::validate_server_name(server).map_err(|reason| {
            format!("invalid server-host '{}': {reason}", server.escape_debug())
        })?;
    }
    for client in &cli.client_hosts {
        etrn_hosts::validate_etrn_argument(client).map_err(|reason| {
            format!("invalid client-host '{}': {reason}", client.escape_debug())
        })?;
    }
    let helo = match &cli.helo {
        Some(name) => {
            etrn_hosts::validate_server_name(name)
                .map_err(|reason| format!("invalid --helo '{}': {reason}", name.escape_debug()))?;
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
        return Err("--ca-file needs --starttls require".to_owned());
    }
    let policy = TlsPolicy {
        mode,
        ca_file: cli.ca_file.clone(),
    };
    let ca_connector = match &cli.ca_file {
        Some(_) => Some(tls::connector(&policy)?),
        None => None,
    };
    Ok(Settings {
        port: cli.port,
        timeout,
        helo,
        tls: policy,
        ca_connector,
        verbose: cli.verbose,
    })
}

/// `etrn [-b] [-v] server-host [client-hosts...]`.
async fn single_server(cli: &Cli, settings: Settings) -> u8 {
    let Some(server) = cli.server_host.as_deref() else {
        return usage_error("a server-host is required");
    };
    let discover = cli.client_hosts.is_empty();
    let clients = if discover {
        match discovery::accepted_names(&cli.sendmail_cf, &settings.helo) {
            Ok(names) if names.is_empty() => return usage_error("no accepted host names found"),
            Ok(names) => names,
            Err(message) => return usage_error(&message),
        }
    } else {
        cli.client_hosts.clone()
    };
    if (cli.boot || discover) && !local_mta_ready(cli.local_port, settings.timeout).await {
        return EXIT_UNREACHABLE;
    }
    let outcome = flush::flush(server, &clients, &settings).await;
    report(server, &outcome, settings.verbose);
    outcome.exit_status()
}

async fn local_mta_ready(port: u16, timeout: Option<Duration>) -> bool {
    match boot::wait_for_local_mta(port, timeout).await {
        Ok(()) => true,
        Err(error) => {
            crate::say!("{NAME}: the local MTA does not accept SMTP (-b): {error}");
            false
        }
    }
}

/// Without `-v` success is silent and each failure is one line on stderr;
/// with `-v` a result line per client goes to stdout after the dialogue.
fn report(server: &str, outcome: &Outcome, verbose: bool) {
    match outcome {
        Outcome::Asked(replies) => {
            for (client, reply) in replies {
                let answer = interpret(reply);
                if verbose {
                    let _ = print_stdout(&format!("{client}: {}\n", describe(&answer, reply)));
                }
                if !matches!(answer, EtrnAnswer::Accepted { .. }) {
                    crate::say!("{NAME}: {server}: ETRN {client}: {reply}");
                }
            }
        }
        Outcome::NotSupported(why) => crate::say!("{NAME}: {server}: ETRN not supported: {why}"),
        Outcome::Unreachable(error) | Outcome::HelloRefused(error) => {
            crate::say!("{NAME}: {error}")
        }
    }
}

fn describe(answer: &EtrnAnswer, reply: &crate::smtp::Reply) -> String {
    match answer {
        EtrnAnswer::Accepted { pending: Some(n) } => {
            format!("accepted, {n} messages pending ({reply})")
        }
        EtrnAnswer::Accepted { pending: None } => format!("accepted ({reply})"),
        EtrnAnswer::Refused => format!("refused ({reply})"),
        EtrnAnswer::Failed => format!("failed ({reply})"),
    }
}

/// `etrn --etrn-hosts`: every group of ETRN_HOSTS at once.
async fn kick_etrn_hosts(cli: &Cli, value: &str, settings: Settings) -> u8 {
    let (groups, malformed) = etrn_hosts::parse(value);
    for bad in &malformed {
        log_line(Level::Error, &bad.to_string());
    }
    let mut statuses = vec![if malformed.is_empty() {
        EXIT_OK
    } else {
        EXIT_USAGE
    }];
    let needs_discovery = groups.iter().any(|g| g.clients.is_empty());
    let discovered = if needs_discovery {
        match discovery::accepted_names(&cli.sendmail_cf, &settings.helo) {
            Ok(names) => names,
            Err(message) => {
                log_line(Level::Error, &message);
                statuses.push(EXIT_USAGE);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let jobs: Vec<Job> = groups
        .into_iter()
        .filter(|g| !g.clients.is_empty() || !discovered.is_empty())
        .map(|g| Job {
            clients: if g.clients.is_empty() {
                discovered.clone()
            } else {
                g.clients
            },
            server: g.server,
        })
        .collect();
    if jobs.is_empty() {
        return worst(statuses);
    }
    if !local_mta_ready(cli.local_port, settings.timeout).await {
        return EXIT_UNREACHABLE;
    }
    statuses.extend(boot::kick(jobs, Arc::new(settings), cli.retry_for).await);
    worst(statuses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("etrn").chain(args.iter().copied()))
    }

    #[test]
    fn legacy_command_line() {
        let cli = parse(&["-b", "-v", "mx.example", "a.test", "@b.test", "#q"]).expect("valid");
        assert!(cli.boot && cli.verbose);
        assert_eq!(cli.server_host.as_deref(), Some("mx.example"));
        assert_eq!(cli.client_hosts, ["a.test", "@b.test", "#q"]);
        assert_eq!(cli.timeout, Duration::from_secs(10));
    }

    #[test]
    fn etrn_hosts_mode_takes_no_server() {
        assert!(parse(&["--etrn-hosts", "--defaults", "/x"]).is_ok());
        assert!(parse(&["--etrn-hosts", "mx"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["--starttls", "sometimes", "mx"][..],
            &["--timeout", "-3", "mx"],
            &["--port", "0", "mx"],
        ] {
            assert_eq!(
                parse(args).map(|_| ()).map_err(|e| e.exit_code()),
                Err(2),
                "{args:?}"
            );
        }
    }
}
