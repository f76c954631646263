//! A scripted HTTPS host on port 443 of a loopback address of its own
//! (the first free 127.0.44.x), as an MTA-STS policy host: each
//! connection gets a TLS handshake with a [`Pki`]'s certificate, its
//! request read (every request line logged), and one scripted answer,
//! then the connection is closed. Or it stays silent.
//!
//! Port 443 because a policy is fetched from the name on 443 and the
//! binary has no option to say otherwise; binding it needs root:
//! [`HttpsServer::start_or_skip`] says SKIPPED. Bounded like
//! [`TestServer`], which serves it.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;

use super::SERVER_LIFETIME;
use super::conn::{Conn, Flow, Input};
use super::server::{Handler, TestServer};
use super::tls::{Pki, handshake};

/// RFC 8461 §3.3: policies are fetched over HTTPS on its port.
pub const HTTPS_PORT: u16 = 443;

/// What the host does with each connection.
#[derive(Clone, Debug)]
pub enum Https {
    /// After the handshake and the request: this status line (`200 OK`),
    /// these headers, this body, then the connection is closed.
    Answer {
        status: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Accepts the connection and never says anything (no handshake).
    Silent,
}

impl Https {
    /// `200 OK`, `text/plain`, its length, `body`: a policy served right.
    pub fn policy(body: &str) -> Https {
        Https::Answer {
            status: "200 OK",
            headers: vec![
                ("Content-Type", "text/plain".to_owned()),
                ("Content-Length", body.len().to_string()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// `status` with an empty body and these headers.
    pub fn status(status: &'static str, headers: Vec<(&'static str, String)>) -> Https {
        let mut headers = headers;
        headers.push(("Content-Length", "0".to_owned()));
        Https::Answer {
            status,
            headers,
            body: Vec::new(),
        }
    }
}

/// The HTTPS host; stops when dropped.
pub struct HttpsServer {
    server: TestServer,
}

impl HttpsServer {
    /// Serves on port 443 of the first 127.0.44.x where it is free, as
    /// `pki`'s certificate and `behaviour` say.
    pub fn start(pki: Pki, behaviour: Https) -> io::Result<HttpsServer> {
        let handler: Arc<Handler> = Arc::new(move |conn| serve(conn, &pki, &behaviour));
        let mut last = io::Error::new(ErrorKind::AddrInUse, "no free 127.0.44.x:443");
        for host in 1..=254 {
            let addr = SocketAddr::from((Ipv4Addr::new(127, 0, 44, host), HTTPS_PORT));
            match TestServer::serve(addr, SERVER_LIFETIME, Arc::clone(&handler)) {
                Ok(server) => return Ok(HttpsServer { server }),
                Err(e) if e.kind() == ErrorKind::AddrInUse => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// [`start`](Self::start), or `None` and a SKIPPED note when port 443
    /// cannot be bound here.
    pub fn start_or_skip(pki: Pki, behaviour: Https) -> Option<HttpsServer> {
        match Self::start(pki, behaviour) {
            Ok(server) => Some(server),
            Err(e) => {
                super::skip(format_args!("serve HTTPS on a loopback port 443 ({e})"));
                None
            }
        }
    }

    /// Its address, for an A record.
    pub fn ip(&self) -> String {
        self.server.addr().ip().to_string()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// The request lines received so far, `*` events included.
    pub fn log(&self) -> Vec<String> {
        self.server.log()
    }
}

fn serve(conn: Conn<TcpStream>, pki: &Pki, behaviour: &Https) {
    let Https::Answer {
        status,
        headers,
        body,
    } = behaviour
    else {
        let mut conn = conn;
        conn.skip_input(conn.shared.deadline, false);
        return;
    };
    let Conn {
        stream,
        number,
        shared,
        ..
    } = conn;
    let stream = match handshake(&pki.config, stream, || shared.alive()) {
        Ok(stream) => stream,
        Err(Some(why)) => return shared.record(number, false, &format!("*{why}")),
        Err(None) => return,
    };
    let mut conn = Conn::over(stream, number, true, shared);
    conn.record("*TLS-OK");
    // The request head ends with an empty line.
    loop {
        match conn.read_line(conn.shared.deadline) {
            Input::Line(line) if line.is_empty() => break,
            Input::Line(line) => conn.record(&line),
            _ => return,
        }
    }
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if conn.write(head.as_bytes()) == Flow::Continue && conn.write(body) == Flow::Continue {
        conn.record("*ANSWERED");
    }
    conn.stream.conn.send_close_notify();
    let _ = conn.write(&[]);
    let _ = conn.stream.conn.complete_io(&mut conn.stream.sock);
}
