//! A scripted DNS server on loopback port 53, and a private mount namespace
//! whose /etc points the system resolver (glibc's `getaddrinfo`, and any
//! resolver that reads /etc/resolv.conf) at it and at nothing else.
//!
//! The server answers UDP and TCP on port 53 of one address in
//! 127.0.53.0/24 (port 53 because resolv.conf has no port option; its own
//! address so tests can run at once). It answers from a [`Zone`] of MX, A,
//! AAAA and CNAME records, following CNAMEs, NXDOMAIN for unknown names,
//! and can be told per name to misbehave ([`Behaviour`]). Every message is
//! built and parsed with hickory-proto; the only bytes written by hand are
//! the two-octet length of DNS over TCP. Every query is logged as
//! `TRANSPORT TYPE NAME` (e.g. `tcp MX d.test`).
//!
//! Bounded like [`TestServer`] (which serves the TCP side): every socket
//! call has a [`POLL`] timeout, the server lives at most
//! [`SERVER_LIFETIME`], and dropping it stops every thread within ~1 s.
//! Binding port 53 needs root: [`DnsServer::start_or_skip`] says SKIPPED.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::conn::Conn;
use super::files::TempDir;
use super::run::{NOT_INHERITED, Run, run_program};
use super::server::{TestServer, join_bounded};
use super::{EXPECT_TIMEOUT, POLL, SERVER_LIFETIME};

/// How the server answers every query for one name (over both transports
/// unless said otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// From the zone: the records, NODATA, or NXDOMAIN for an unknown name.
    Records,
    /// NXDOMAIN, whatever the zone holds.
    NxDomain,
    /// SERVFAIL.
    ServFail,
    /// No answer at all (the query is logged).
    Silent,
    /// Over UDP an empty answer with the TC bit set; over TCP the records.
    Truncated,
    /// The zone's answer cut short by three octets, so that its last
    /// record (or the question) cannot be parsed; the ID still matches.
    Garbage,
}

/// The records a [`DnsServer`] serves, and the names it misbehaves for.
/// Names are written without the trailing dot; `"."` is the root (for a
/// null MX). Records of a name are answered in the order added.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    records: Vec<Record>,
    behaviours: Vec<(String, Behaviour)>,
    /// Names whose answers carry the AD bit (RFC 4035 §3.2.3), as a
    /// validating resolver sets it for a signed zone.
    signed: Vec<String>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    /// `name MX preference exchange`.
    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Zone {
        self.record(name, RData::MX(MX::new(preference, fqdn(exchange))))
    }

    /// `name MX preference exchange`, and `exchange A ip`: one MX host.
    pub fn mx_at(self, name: &str, preference: u16, exchange: &str, ip: &str) -> Zone {
        self.mx(name, preference, exchange).a(exchange, ip)
    }

    /// `name A ip`.
    pub fn a(self, name: &str, ip: &str) -> Zone {
        let ip = ip.parse().unwrap_or_else(|_| panic!("{ip:?} is not IPv4"));
        self.record(name, RData::A(A(ip)))
    }

    /// `name AAAA ip`.
    pub fn aaaa(self, name: &str, ip: &str) -> Zone {
        let ip = ip.parse().unwrap_or_else(|_| panic!("{ip:?} is not IPv6"));
        self.record(name, RData::AAAA(AAAA(ip)))
    }

    /// `name CNAME target`.
    pub fn cname(self, name: &str, target: &str) -> Zone {
        self.record(name, RData::CNAME(CNAME(fqdn(target))))
    }

    /// `name TLSA usage selector matching-type data` (RFC 6698 §2.1).
    pub fn tlsa(self, name: &str, usage: u8, selector: u8, matching: u8, data: &[u8]) -> Zone {
        let tlsa = TLSA::new(
            CertUsage::from(usage),
            Selector::from(selector),
            Matching::from(matching),
            data.to_vec(),
        );
        self.record(name, RData::TLSA(tlsa))
    }

    /// `name TXT "string" ...`: one record of one or more strings.
    pub fn txt(self, name: &str, strings: &[&str]) -> Zone {
        let strings = strings.iter().map(|s| (*s).to_owned()).collect();
        self.record(name, RData::TXT(TXT::new(strings)))
    }

    /// Answers for `name` carry the AD bit: the name is "signed" and the
    /// server plays a validating resolver that validated it.
    pub fn signed(mut self, name: &str) -> Zone {
        self.signed.push(key(&fqdn(name)));
        self
    }

    /// The IPv4 addresses of its A records, each once.
    pub fn ipv4_addresses(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for record in &self.records {
            if let RData::A(A(ip)) = &record.data {
                let ip = ip.to_string();
                if !found.contains(&ip) {
                    found.push(ip);
                }
            }
        }
        found
    }

    /// Every query for `name` is answered as `behaviour` says.
    pub fn behave(mut self, name: &str, behaviour: Behaviour) -> Zone {
        self.behaviours.push((key(&fqdn(name)), behaviour));
        self
    }

    fn record(mut self, name: &str, data: RData) -> Zone {
        self.records.push(Record::from_rdata(fqdn(name), 300, data));
        self
    }

    fn behaviour(&self, name: &str) -> Behaviour {
        let found = self.behaviours.iter().find(|(n, _)| n == name);
        found.map_or(Behaviour::Records, |(_, b)| *b)
    }

    fn records_of<'z>(&'z self, name: &Name) -> Vec<&'z Record> {
        let name = key(name);
        self.records
            .iter()
            .filter(|r| key(&r.name) == name)
            .collect()
    }

    /// Fills `reply` for `question`: its records, following CNAMEs (at
    /// most 8), else an SOA in the authority section, with NXDOMAIN when
    /// the last name has no record at all.
    fn answer(&self, question: &Query, reply: &mut Message) {
        let qtype = question.query_type();
        let mut name = question.name().clone();
        for _ in 0..8 {
            let here = self.records_of(&name);
            let hits: Vec<Record> = here
                .iter()
                .filter(|r| r.record_type() == qtype)
                .map(|r| (*r).clone())
                .collect();
            if !hits.is_empty() {
                reply.add_answers(hits);
                return;
            }
            let alias = here.iter().find(|r| r.record_type() == RecordType::CNAME);
            match alias.map(|r| &r.data) {
                Some(RData::CNAME(CNAME(target))) if qtype != RecordType::CNAME => {
                    reply.add_answer((*alias.expect("found")).clone());
                    name = target.clone();
                }
                _ => {
                    if here.is_empty() {
                        reply.metadata.response_code = ResponseCode::NXDomain;
                    }
                    reply.add_authority(soa_for(&name));
                    return;
                }
            }
        }
    }
}

/// `name` as a fully qualified name (`"."` is the root).
fn fqdn(name: &str) -> Name {
    let text = format!("{}.", name.trim_end_matches('.'));
    if text == "." {
        return Name::root();
    }
    Name::from_ascii(&text).unwrap_or_else(|e| panic!("bad DNS name {name:?}: {e}"))
}

/// A name as the zone and the log write it: lower case, no trailing dot.
fn key(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    text.trim_end_matches('.').to_owned()
}

/// The SOA a negative answer carries: that of the name's top-level domain.
fn soa_for(name: &Name) -> Record {
    let tld = key(name).rsplit('.').next().unwrap_or_default().to_owned();
    let ns = fqdn(&format!("ns.{tld}"));
    let soa = SOA::new(
        ns,
        fqdn(&format!("hostmaster.{tld}")),
        1,
        3600,
        600,
        86400,
        60,
    );
    Record::from_rdata(fqdn(&tld), 60, RData::SOA(soa))
}

/// How a query reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One query the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// Lower case, without the trailing dot.
    pub name: String,
    pub qtype: RecordType,
    pub transport: Transport,
    /// When it came, counted from the server's start.
    pub at: Duration,
}

impl fmt::Display for Asked {
    /// `udp MX d.test`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        write!(f, "{transport} {} {}", self.qtype, self.name)
    }
}

/// What the UDP thread and the TCP connections share.
struct State {
    zone: Zone,
    log: Mutex<Vec<Asked>>,
    stop: AtomicBool,
    started: Instant,
    deadline: Instant,
}

impl State {
    fn alive(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && Instant::now() < self.deadline
    }

    fn log(&self) -> MutexGuard<'_, Vec<Asked>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reply to one query message, `None` for no reply (silence, or a
    /// message that is not a query).
    fn respond(&self, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let query = Message::from_vec(packet).ok()?;
        let question = query.queries.first()?.clone();
        let name = key(question.name());
        let qtype = question.query_type();
        self.log().push(Asked {
            name: name.clone(),
            qtype,
            transport,
            at: self.started.elapsed(),
        });
        let behaviour = self.zone.behaviour(&name);
        let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
        reply.metadata.recursion_desired = query.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.metadata.authentic_data = self.zone.signed.contains(&name);
        reply.add_query(question.clone());
        if query.edns.is_some() && behaviour != Behaviour::Garbage {
            reply.set_edns(Edns::new());
        }
        match (behaviour, transport) {
            (Behaviour::Silent, _) => return None,
            (Behaviour::NxDomain, _) => {
                reply.metadata.response_code = ResponseCode::NXDomain;
                reply.add_authority(soa_for(question.name()));
            }
            (Behaviour::ServFail, _) => reply.metadata.response_code = ResponseCode::ServFail,
            (Behaviour::Truncated, Transport::Udp) => reply.metadata.truncation = true,
            _ => self.zone.answer(&question, &mut reply),
        }
        let mut bytes = reply.to_vec().expect("encode a DNS reply");
        if behaviour == Behaviour::Garbage {
            bytes.truncate(bytes.len() - 3);
        }
        Some(bytes)
    }
}

/// The scripted DNS server: UDP and TCP on port 53 of one 127.0.53.x
/// address. Dropping it stops both within about a second.
pub struct DnsServer {
    ip: Ipv4Addr,
    state: Arc<State>,
    udp: Option<JoinHandle<()>>,
    // Declared last: dropped (and stopped) after the UDP thread.
    _tcp: TestServer,
}

impl DnsServer {
    /// Serves `zone` on the first 127.0.53.x whose port 53 is free for
    /// both UDP and TCP. Fails with the bind error otherwise (e.g. not
    /// root).
    pub fn start(zone: Zone) -> io::Result<DnsServer> {
        let mut last = io::Error::new(ErrorKind::AddrInUse, "no free 127.0.53.x:53");
        for host in 1..=254 {
            match Self::start_on(Ipv4Addr::new(127, 0, 53, host), zone.clone()) {
                Ok(server) => return Ok(server),
                Err(e) if e.kind() == ErrorKind::AddrInUse => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// [`start`](Self::start), or `None` and a SKIPPED note when port 53
    /// cannot be bound here.
    pub fn start_or_skip(zone: Zone) -> Option<DnsServer> {
        match Self::start(zone) {
            Ok(server) => Some(server),
            Err(e) => {
                super::skip(format_args!("serve DNS on a loopback port 53 ({e})"));
                None
            }
        }
    }

    fn start_on(ip: Ipv4Addr, zone: Zone) -> io::Result<DnsServer> {
        assert!(ip.is_loopback(), "the DNS server binds only 127.0.0.0/8");
        let addr = SocketAddr::from((ip, 53));
        let udp = UdpSocket::bind(addr)?;
        udp.set_read_timeout(Some(POLL))?;
        let state = Arc::new(State {
            zone,
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            started: Instant::now(),
            deadline: Instant::now() + SERVER_LIFETIME,
        });
        let tcp_state = Arc::clone(&state);
        let handler = Arc::new(move |conn: Conn<TcpStream>| serve_tcp(conn, &tcp_state));
        let tcp = TestServer::serve(addr, SERVER_LIFETIME, handler)?;
        let udp_state = Arc::clone(&state);
        let udp = thread::Builder::new()
            .name(format!("test-dns-{addr}"))
            .spawn(move || serve_udp(&udp, &udp_state))?;
        Ok(DnsServer {
            ip,
            state,
            udp: Some(udp),
            _tcp: tcp,
        })
    }

    /// The address (its port is 53).
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The address (port 53).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, 53))
    }

    /// Every query so far, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.state.log().clone()
    }

    /// Every query so far as `TRANSPORT TYPE NAME` lines.
    pub fn asked_lines(&self) -> Vec<String> {
        self.asked().iter().map(Asked::to_string).collect()
    }

    /// A resolv.conf naming only this server, then `options` (e.g.
    /// [`QUICK_RESOLVER`]; empty for the resolver's defaults).
    pub fn resolv_conf(&self, options: &str) -> String {
        format!("nameserver {}\n{options}\n", self.ip)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(udp) = self.udp.take() {
            join_bounded(vec![udp], Duration::from_secs(1));
        }
    }
}

fn serve_udp(socket: &UdpSocket, state: &State) {
    let mut buf = [0u8; 4096];
    while state.alive() {
        // A timeout (every POLL) only sends us round to check `alive`.
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if let Some(reply) = state.respond(&buf[..n], Transport::Udp) {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

/// Answers length-prefixed queries on one connection until the client
/// closes, the server stops, or [`EXPECT_TIMEOUT`] passes.
fn serve_tcp(conn: Conn<TcpStream>, state: &State) {
    let Conn {
        mut stream, shared, ..
    } = conn;
    let end = Instant::now() + EXPECT_TIMEOUT;
    let alive = || shared.alive() && state.alive() && Instant::now() < end;
    while let Some(query) = read_framed(&mut stream, alive) {
        let reply = state.respond(&query, Transport::Tcp);
        if reply.is_some_and(|r| write_framed(&mut stream, &r).is_err()) {
            return;
        }
    }
}

/// Reads one DNS-over-TCP message (RFC 1035 §4.2.2: a two-octet length,
/// then the message) from a stream with a read timeout, giving up when
/// `alive` turns false, at EOF or on an error.
pub fn read_framed(stream: &mut impl Read, alive: impl Fn() -> bool) -> Option<Vec<u8>> {
    let mut length = [0u8; 2];
    read_full(stream, &mut length, &alive)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
    read_full(stream, &mut message, &alive)?;
    Some(message)
}

/// Writes one DNS-over-TCP message: its two-octet length, then it.
pub fn write_framed(stream: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let length = u16::try_from(message.len()).expect("a DNS message under 64 KiB");
    stream.write_all(&[&length.to_be_bytes()[..], message].concat())
}

fn read_full(stream: &mut impl Read, buf: &mut [u8], alive: &impl Fn() -> bool) -> Option<()> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) && alive() => {}
            Err(_) => return None,
        }
    }
    Some(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// resolv.conf options that make the resolver give up on a silent server
/// after one second and one try.
pub const QUICK_RESOLVER: &str = "options timeout:1 attempts:1";

/// The private /etc/hosts: only localhost, so every other name goes to DNS.
pub const LOCALHOST_ONLY: &str = "127.0.0.1 localhost\n::1 localhost\n";

/// The private /etc/nsswitch.conf: host names from /etc/hosts, then DNS
/// (no systemd-resolved, mDNS or other module that could ask elsewhere).
pub const FILES_THEN_DNS: &str = "passwd: files\ngroup: files\nhosts: files dns\n";

/// Runs `argv` (a program and its arguments) in a private mount namespace
/// after the shell command `setup`, with `stdin` (None: /dev/null), killed
/// after `timeout`; `None` when `unshare -m` cannot run `setup` here (the
/// test is skipped: "SKIPPED: cannot WHAT here").
pub fn run_in_namespace(
    setup: &str,
    what: &str,
    argv: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Option<Run> {
    let all = namespace_args(setup, what, argv)?;
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    Some(run_program(Path::new("unshare"), &all, &[], stdin, timeout))
}

/// The arguments of `unshare` that run `argv` in a private mount
/// namespace after the shell command `setup` (the program replaces the
/// shell, so the child's id is the program's); `None` when `unshare -m`
/// cannot run `setup` here (the test is skipped: "SKIPPED: cannot WHAT
/// here").
pub fn namespace_args(setup: &str, what: &str, argv: &[&str]) -> Option<Vec<String>> {
    let unshare = ["-m", "--propagation", "private", "sh", "-c"];
    let probe = Command::new("unshare")
        .args(unshare)
        .arg(setup)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        super::skip(what);
        return None;
    }
    let script = format!("{setup} && exec \"$0\" \"$@\"");
    let all = [&unshare[..], &[script.as_str()], argv].concat();
    Some(all.into_iter().map(str::to_owned).collect())
}

/// The shell command that writes each `(name, text)` into `dir` and
/// bind-mounts it over `/etc/NAME`.
pub fn private_etc(dir: &TempDir, files: &[(&str, &str)]) -> String {
    let mounts: Vec<String> = files
        .iter()
        .map(|(name, text)| {
            let file = dir.file(name, text);
            format!("mount --bind '{}' /etc/{name}", file.display())
        })
        .collect();
    mounts.join(" && ")
}

/// Runs `argv` in a private mount namespace whose resolver knows only
/// the test's DNS servers: /etc/resolv.conf is `resolv_conf` (see
/// [`DnsServer::resolv_conf`]; it may name only loopback servers),
/// /etc/hosts holds only localhost ([`LOCALHOST_ONLY`]), nsswitch.conf
/// says files then dns, and nscd (if any) is hidden, so no query leaves
/// the machine.
pub fn run_with_resolver(
    resolv_conf: &str,
    argv: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Option<Run> {
    let (_dir, setup) = private_resolver(resolv_conf);
    run_in_namespace(&setup, PRIVATE_RESOLVER, argv, stdin, timeout)
}

/// `argv` started in the namespace of [`run_with_resolver`] with stdin,
/// stdout and stderr piped and `env` added, for a test that talks to it
/// while it runs; with the directory of its /etc files, to be kept until
/// the child ends. `None` (SKIPPED) where the namespace cannot be made.
pub fn spawn_with_resolver(
    resolv_conf: &str,
    argv: &[&str],
    env: &[(&str, &str)],
    stdin: Stdio,
) -> Option<(Child, TempDir)> {
    let (dir, setup) = private_resolver(resolv_conf);
    let args = namespace_args(&setup, PRIVATE_RESOLVER, argv)?;
    let mut command = Command::new("unshare");
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    let child = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run unshare: {e}"));
    Some((child, dir))
}

/// A long-lived applet (a service) started by [`spawn_with_resolver`]
/// with its own cache directory; killed when dropped.
pub struct Service {
    pub child: Child,
    _etc: TempDir,
    _cache: TempDir,
}

impl Service {
    /// Starts `argv` with `stdin`; `None` (skipped) where the namespace
    /// cannot be made.
    pub fn start(resolv_conf: &str, argv: &[&str], stdin: Stdio) -> Option<Service> {
        let cache = TempDir::new("xdg-cache");
        let env = [("XDG_CACHE_HOME", cache.arg())];
        let (child, etc) = spawn_with_resolver(resolv_conf, argv, &env, stdin)?;
        Some(Service {
            child,
            _etc: etc,
            _cache: cache,
        })
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What cannot be done where the namespace tests are skipped.
const PRIVATE_RESOLVER: &str = "bind-mount a private /etc/resolv.conf";

/// The private /etc files of [`run_with_resolver`] in a new directory, and
/// the shell command that mounts them (and hides nscd).
fn private_resolver(resolv_conf: &str) -> (TempDir, String) {
    let dir = TempDir::new("etc");
    let files = [
        ("hosts", LOCALHOST_ONLY),
        ("nsswitch.conf", FILES_THEN_DNS),
        ("resolv.conf", resolv_conf),
    ];
    let servers = resolv_conf
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "));
    for server in servers {
        let ip: Ipv4Addr = server.trim().parse().expect("a literal IPv4 name server");
        assert!(
            ip.is_loopback(),
            "resolv.conf may name only loopback: {server}"
        );
    }
    let hide_nscd = "{ [ ! -d /run/nscd ] || mount -t tmpfs tmpfs /run/nscd; }";
    let setup = format!("{} && {hide_nscd}", private_etc(&dir, &files));
    (dir, setup)
}
