//! `etrn [-b] [-v] SERVER [CLIENTS...]`: one server, the clients given or
//! discovered, one session, and its report: silent success, one stderr
//! line per failure, and with `-v` one result line per client on stdout
//! after the dialogue.

use super::Cli;
use super::boot::local_mta_ready;
use super::config;
use super::discovery;
use super::json;
use super::session::flush;
use super::verdict::{AuthFailure, EtrnAnswer, REFUSAL_HINT, SessionOutcome, describe, interpret};
use crate::applet::{AppletError, AppletResult};
use crate::exit::etrn::UNREACHABLE;
use crate::json::one_line;
use crate::names::HostName;
use crate::report::Reporter;

/// Asks the one server of the command line; returns its exit status.
pub(super) async fn ask_one_server(cli: &Cli, reporter: &Reporter) -> AppletResult {
    if cli.defaults.is_some() {
        return Err(AppletError::usage(
            "--defaults is only used with --etrn-hosts",
        ));
    }
    let (server, mut clients) = config::server_and_clients(cli)?;
    let settings = config::session_settings(cli, reporter).await?;
    let discover = clients.is_empty();
    if discover {
        clients = discovery::accepted_names(&cli.sendmail_cf, &settings.helo, reporter)
            .map_err(AppletError::usage)?;
        if clients.is_empty() {
            return Err(AppletError::usage("no accepted host names found"));
        }
    }
    if (cli.boot || discover) && !local_mta_ready(cli.local_port, settings.timeout, reporter).await
    {
        return Ok(UNREACHABLE);
    }
    let outcome = flush(&server, &clients, &settings).await;
    report(&server, &outcome, reporter);
    let status = outcome.exit_status();
    if cli.json {
        let sessions = [(server, outcome)];
        let _ = reporter.answer(&one_line(&json::document(status, &sessions)));
    }
    Ok(status)
}

/// Without `-v` success is silent and each failure is one line on stderr;
/// with `-v` a result line per client goes to stdout after the dialogue.
fn report(server: &HostName, outcome: &SessionOutcome, reporter: &Reporter) {
    match outcome {
        SessionOutcome::Asked(replies) => {
            for (client, reply) in replies {
                let answer = interpret(reply);
                if reporter.is_verbose() {
                    let _ = reporter.answer(&format!("{client}: {}\n", describe(&answer, reply)));
                }
                if !matches!(answer, EtrnAnswer::Accepted { .. }) {
                    reporter.error(format_args!("{server}: ETRN {client}: {reply}"));
                }
                if answer == EtrnAnswer::Refused {
                    reporter.detail(format_args!("{server}: ETRN {client}: {REFUSAL_HINT}"));
                }
            }
        }
        SessionOutcome::NotSupported(why) => {
            reporter.error(format_args!("{server}: ETRN not supported: {why}"));
        }
        SessionOutcome::Unreachable(error) | SessionOutcome::HelloRefused(error) => {
            reporter.error(error);
        }
        SessionOutcome::AuthFailed(error) => reporter.error(AuthFailure(error)),
    }
}
