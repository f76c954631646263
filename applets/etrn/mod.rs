//! etrn: ask a mail server to start delivering its queue for some hosts
//! (RFC 1985). Keeps the Solaris/illumos etrn(1M) command line and `-v`
//! output, and fixes its faults: CRLF line ends, no session after a non-220
//! greeting, no sleeps, exit statuses from the replies, every address and
//! IPv6, STARTTLS, and a boot-time kick that retries and says what happened.
//!
//! Layout: this file is the command line. [`config`] turns it, and
//! ETRN_HOSTS from its sources, into what a run needs, all checked before
//! anything is sent. [`single`] runs `etrn SERVER [CLIENTS]`; [`boot`] the
//! `-b` wait and the `--etrn-hosts` kick. [`session`] is one ETRN session;
//! [`verdict`] reads its replies and decides exit statuses. [`discovery`]
//! with [`sendmail_cf`] finds the names sendmail accepts; [`etrn_hosts`] and
//! [`shell_vars`] parse the configuration.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::applet::{AppletError, AppletResult, parse_command_line};
use crate::args::Seconds;
use crate::exit::etrn::UNREACHABLE;
use crate::report::Reporter;
use crate::runtime::block_on;

pub mod boot;
pub mod config;
pub mod discovery;
pub mod etrn_hosts;
pub mod json;
pub mod sendmail_cf;
pub mod session;
pub mod shell_vars;
pub mod single;
pub mod verdict;

const NAME: &str = "etrn";

/// `--timeout` when not given.
const DEFAULT_TIMEOUT: Seconds = Seconds(Duration::from_secs(10));
/// `--retry-for` when not given: the network and the servers have five
/// minutes to come up after boot.
const DEFAULT_RETRY_FOR: Seconds = Seconds(Duration::from_secs(300));

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  every ETRN was accepted (2xx)
  1  the server answered, but ETRN is not supported or some ETRN was refused,
     or AUTH failed (refused, a challenge etrn cannot answer, or no AUTH
     mechanism etrn speaks)
  2  usage or configuration error (also a credentials file that is not
     private, or malformed); nothing was sent
  3  the server could not be reached, greeted or finish the dialogue in time
     (also a malformed reply), or TLS was required and failed
With --etrn-hosts: the highest status of all groups.

With credentials for a server (--netrc; with --etrn-hosts also
/etc/smtpbox/netrc when it exists), etrn authenticates (SMTP AUTH: CRAM-MD5,
else PLAIN, else LOGIN) before ETRN, and STARTTLS is required for that
server, verified as with --starttls require, unless --auth-plaintext.
The file must be a regular file of the user running etrn, mode 600 or 400.

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

/// Ask a mail server to start delivering its queue for some hosts
/// (RFC 1985)
// etrn's command line: the doc comments are its help (the registry makes
// the manual page and completions of it too).
#[derive(Parser, Debug)]
#[command(name = NAME, version, after_help = EXIT_STATUS_HELP)]
pub(crate) struct Cli {
    /// Boot: first make sure the local MTA accepts SMTP (greets 220)
    #[arg(short = 'b')]
    boot: bool,

    /// Show the SMTP dialogue and one result line per client on stdout
    #[arg(short, long)]
    verbose: bool,

    /// Print each server's outcome and each client's reply as one JSON
    /// object on stdout; same exit status (not with -v, whose dialogue
    /// also goes to stdout)
    #[arg(long, conflicts_with = "verbose")]
    json: bool,

    /// TCP port of the servers
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,

    /// Seconds each phase may take (connect, greeting, each reply, TLS
    /// handshake); fractions allowed; 0 means no limit
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    timeout: Seconds,

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

    /// Trust only the CA certificates in this PEM file (with --starttls
    /// require, or for the servers --netrc has credentials for)
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,

    /// Credentials for SMTP AUTH, per server, in netrc(5) format (must be
    /// private: mode 600); with --etrn-hosts the default is
    /// /etc/smtpbox/netrc when it exists
    #[arg(long, value_name = "PATH")]
    netrc: Option<PathBuf>,

    /// Allow AUTH without verified TLS (STARTTLS as --starttls says): the
    /// password may cross the network readable
    #[arg(long)]
    auth_plaintext: bool,

    /// Kick every server in ETRN_HOSTS (boot time; implies -b)
    #[arg(long, conflicts_with_all = ["server_host", "client_hosts"])]
    etrn_hosts: bool,

    /// Where to read ETRN_HOSTS when it is not in the environment
    #[arg(long, value_name = "PATH")]
    defaults: Option<PathBuf>,

    /// With --etrn-hosts: keep retrying unreachable or 4xx servers this long
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_RETRY_FOR)]
    retry_for: Seconds,

    /// The mail server to ask
    #[arg(value_name = "SERVER-HOST", required_unless_present = "etrn_hosts")]
    server_host: Option<String>,

    /// Hosts whose mail to deliver: NAME, @DOMAIN or #QUEUE
    #[arg(value_name = "CLIENT-HOSTS")]
    client_hosts: Vec<String>,
}

/// Runs etrn in the mode its command line asks for.
pub fn run(args: Vec<OsString>, reporter: &mut Reporter) -> AppletResult {
    let cli: Cli = parse_command_line(args)?;
    reporter.set_verbose(cli.verbose);
    let reporter = &*reporter;
    let mode = async {
        if cli.etrn_hosts {
            boot::kick_etrn_hosts(&cli, reporter).await
        } else {
            single::ask_one_server(&cli, reporter).await
        }
    };
    block_on(mode).map_err(|err| {
        AppletError::new(
            UNREACHABLE,
            format_args!("cannot start the async runtime: {err}"),
        )
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applet::parse_typed;

    fn parse(args: &[&str]) -> Result<Cli, AppletError> {
        parse_typed(NAME, args)
    }

    #[test]
    fn legacy_command_line() {
        let cli = parse(&["-b", "-v", "mx.example", "a.test", "@b.test", "#q"]).expect("valid");
        assert!(cli.boot && cli.verbose);
        assert_eq!(cli.server_host.as_deref(), Some("mx.example"));
        assert_eq!(cli.client_hosts, ["a.test", "@b.test", "#q"]);
        assert_eq!(cli.timeout, DEFAULT_TIMEOUT);
        assert_eq!(cli.retry_for, DEFAULT_RETRY_FOR);
    }

    #[test]
    fn etrn_hosts_mode_takes_no_server() {
        assert!(parse(&["--etrn-hosts", "--defaults", "/x"]).is_ok());
        assert!(parse(&["--etrn-hosts", "mx"]).is_err());
        assert!(parse(&[]).is_err());
    }
}
