//! Ready-made mail servers on loopback that the applet tests share: short
//! constructors, one that only greets, one that offers and accepts ETRN,
//! servers sharing one port.

use std::net::{SocketAddr, TcpListener};

use super::script::{Step, line, serve};
use super::server::{HeldPort, TestServer};

/// A server on 127.0.0.1 playing `script`.
pub fn script_server(script: Vec<Step>) -> TestServer {
    TestServer::start("127.0.0.1:0", script)
}

/// A server on 127.0.0.1 that sends `greeting`, then answers commands
/// from `replies` until QUIT (see [`Step::ServeUntilQuit`]).
pub fn smtp_server(greeting: &str, replies: &[(&str, &str)]) -> TestServer {
    script_server(vec![line(greeting), serve(replies)])
}

/// A server on 127.0.0.1 that sends `greeting` and then only listens.
pub fn greeting_server(greeting: &str) -> TestServer {
    script_server(vec![line(greeting)])
}

/// A server on [::1] playing `script`; `None` (the test is skipped, see
/// [`skip`](super::skip)) where IPv6 is off (as in some containers).
pub fn ipv6_server(script: Vec<Step>) -> Option<TestServer> {
    if !super::ipv6_loopback_available() {
        super::skip("bind [::1]");
        return None;
    }
    Some(TestServer::start("[::1]:0", script))
}

/// Servers on one port on several 127.0.0.x addresses; `None` (the test
/// is skipped, see [`skip`](super::skip)) when those addresses cannot be
/// bound here.
pub fn same_port_or_skip(specs: Vec<(&str, Vec<Step>)>) -> Option<Vec<TestServer>> {
    same_port_refusing_or_skip(specs, &[]).map(|(servers, _)| servers)
}

/// [`same_port_or_skip`], and that port held on each of the `refused`
/// addresses, where a host must be down: refused as long as the holds
/// live, whatever other tests bind meanwhile.
pub fn same_port_refusing_or_skip(
    specs: Vec<(&str, Vec<Step>)>,
    refused: &[&str],
) -> Option<(Vec<TestServer>, Vec<HeldPort>)> {
    let ips = specs
        .iter()
        .map(|(ip, _)| *ip)
        .chain(refused.iter().copied());
    for ip in ips {
        let addr: SocketAddr = format!("{ip}:0").parse().expect("literal");
        if TcpListener::bind(addr).is_err() {
            super::skip(format_args!("bind {ip}"));
            return None;
        }
    }
    Some(TestServer::start_same_port_refusing(specs, refused))
}

/// The EHLO reply of a server that offers ETRN (and not STARTTLS).
pub const EHLO_ETRN: &str = "250-mx.test Hello\n250-ETRN\n250 8BITMIME";

/// The script of a server that greets 220, offers ETRN in EHLO and answers
/// every ETRN with the reply of the first matching `(prefix, reply)`.
pub fn etrn_script(etrn: &[(&str, &str)]) -> Vec<Step> {
    let mut replies = vec![("EHLO", EHLO_ETRN)];
    replies.extend_from_slice(etrn);
    vec![line("220 mx.test ESMTP ready"), serve(&replies)]
}

/// A server on 127.0.0.1 playing [`etrn_script`].
pub fn etrn_server(etrn: &[(&str, &str)]) -> TestServer {
    script_server(etrn_script(etrn))
}

/// The usual ETRN server: every ETRN answered `250 Queuing started`.
pub fn accepting_server() -> TestServer {
    etrn_server(&[("ETRN", "250 Queuing started")])
}
