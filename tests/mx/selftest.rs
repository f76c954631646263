//! The harness itself: the scripted DNS server answers what its zone and
//! behaviours say over UDP and TCP (asked directly, messages built and
//! parsed with hickory-proto), and glibc's resolver in the private
//! namespace reaches it and only it.

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Instant;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::*;

/// Queries get IDs from here, so a reply can be matched.
const ID: u16 = 0x5eed;

/// The raw reply to `name TYPE` asked over `transport`; `None` when none
/// comes within half a second.
fn ask_raw(
    dns: &DnsServer,
    name: &str,
    qtype: RecordType,
    transport: Transport,
) -> Option<Vec<u8>> {
    let mut query = Message::new(ID, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    let name = Name::from_ascii(format!("{name}.")).expect("a DNS name");
    query.add_query(Query::query(name, qtype));
    let query = query.to_vec().expect("encode a query");
    let wait = Duration::from_millis(500);
    match transport {
        Transport::Udp => {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP client");
            socket.set_read_timeout(Some(wait)).expect("timeout");
            socket.send_to(&query, dns.addr()).expect("send a query");
            let mut buf = [0u8; 4096];
            let (n, from) = socket.recv_from(&mut buf).ok()?;
            assert_eq!(from, dns.addr());
            Some(buf[..n].to_vec())
        }
        Transport::Tcp => {
            let mut stream = TcpStream::connect_timeout(&dns.addr(), wait).expect("connect");
            stream.set_read_timeout(Some(POLL)).expect("timeout");
            write_framed(&mut stream, &query).expect("send a query");
            let end = Instant::now() + wait;
            read_framed(&mut stream, || Instant::now() < end)
        }
    }
}

/// The parsed reply (which must be one, to this query).
fn ask(dns: &DnsServer, name: &str, qtype: RecordType, transport: Transport) -> Message {
    let raw = ask_raw(dns, name, qtype, transport).expect("a reply");
    let reply = Message::from_vec(&raw).expect("a well-formed reply");
    assert_eq!(reply.metadata.id, ID);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert_eq!(reply.queries.len(), 1, "the question is echoed: {reply:?}");
    reply
}

/// The answer section as `TYPE DATA` strings.
fn answers(reply: &Message) -> Vec<String> {
    let data = |d: &RData| match d {
        RData::MX(mx) => format!("MX {} {}", mx.preference, mx.exchange),
        RData::A(a) => format!("A {}", a.0),
        RData::AAAA(a) => format!("AAAA {}", a.0),
        RData::CNAME(c) => format!("CNAME {}", c.0),
        other => format!("{other:?}"),
    };
    reply.answers.iter().map(|r| data(&r.data)).collect()
}

fn zone() -> Zone {
    Zone::new()
        .mx("d.test", 20, "mx2.d.test")
        .mx("d.test", 10, "mx1.d.test")
        .a("mx1.d.test", "127.0.0.2")
        .aaaa("mx1.d.test", "::1")
        .cname("alias.test", "d.test")
        .mx("null.test", 0, ".")
        .mx("nx.test", 10, "mx1.d.test")
        .behave("nx.test", Behaviour::NxDomain)
        .behave("fail.test", Behaviour::ServFail)
        .behave("quiet.test", Behaviour::Silent)
        .mx("trunc.test", 10, "mx1.d.test")
        .behave("trunc.test", Behaviour::Truncated)
        .mx("junk.test", 10, "mx1.d.test")
        .behave("junk.test", Behaviour::Garbage)
}

#[test]
fn the_dns_server_answers_from_its_zone_over_udp_and_tcp() {
    let Some(dns) = DnsServer::start_or_skip(zone()) else {
        return;
    };
    let mx = ["MX 20 mx2.d.test.", "MX 10 mx1.d.test."];
    for transport in [Transport::Udp, Transport::Tcp] {
        let reply = ask(&dns, "d.test", RecordType::MX, transport);
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert_eq!(answers(&reply), mx, "{transport:?}");
    }
    let a = ask(&dns, "mx1.d.test", RecordType::A, Transport::Udp);
    assert_eq!(answers(&a), ["A 127.0.0.2"]);
    let aaaa = ask(&dns, "MX1.D.test", RecordType::AAAA, Transport::Udp);
    assert_eq!(answers(&aaaa), ["AAAA ::1"], "names match in any case");
    let alias = ask(&dns, "alias.test", RecordType::MX, Transport::Udp);
    let chain = ["CNAME d.test.", mx[0], mx[1]];
    assert_eq!(answers(&alias), chain);
    let null = ask(&dns, "null.test", RecordType::MX, Transport::Udp);
    assert_eq!(answers(&null), ["MX 0 ."]);

    // NODATA: NOERROR, no answer, an SOA; an unknown name: NXDOMAIN.
    let nodata = ask(&dns, "mx1.d.test", RecordType::MX, Transport::Udp);
    let unknown = ask(&dns, "nowhere.test", RecordType::A, Transport::Udp);
    assert_eq!(unknown.metadata.response_code, ResponseCode::NXDomain);
    for negative in [&nodata, &unknown] {
        assert!(negative.answers.is_empty(), "{negative:?}");
        let soa = negative.authorities.first().map(|r| r.record_type());
        assert_eq!(soa, Some(RecordType::SOA), "{negative:?}");
    }
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    let log = dns.asked_lines();
    assert_eq!(&log[..2], ["udp MX d.test", "tcp MX d.test"], "{log:?}");
    assert!(log.contains(&"udp AAAA mx1.d.test".to_owned()), "{log:?}");
}

#[test]
fn the_dns_server_misbehaves_as_told() {
    let Some(dns) = DnsServer::start_or_skip(zone()) else {
        return;
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        let rcode = |name| {
            ask(&dns, name, RecordType::MX, transport)
                .metadata
                .response_code
        };
        assert_eq!(rcode("nx.test"), ResponseCode::NXDomain, "{transport:?}");
        assert_eq!(rcode("fail.test"), ResponseCode::ServFail, "{transport:?}");
        let silence = ask_raw(&dns, "quiet.test", RecordType::MX, transport);
        assert_eq!(silence, None, "{transport:?}");
        let junk = ask_raw(&dns, "junk.test", RecordType::MX, transport).expect("a reply");
        assert_eq!(junk[..2], ID.to_be_bytes(), "the ID matches");
        assert!(Message::from_vec(&junk).is_err(), "{transport:?}: {junk:?}");
    }
    let udp = ask(&dns, "trunc.test", RecordType::MX, Transport::Udp);
    assert!(udp.metadata.truncation && udp.answers.is_empty(), "{udp:?}");
    let tcp = ask(&dns, "trunc.test", RecordType::MX, Transport::Tcp);
    assert!(!tcp.metadata.truncation, "{tcp:?}");
    assert_eq!(answers(&tcp), ["MX 10 mx1.d.test."]);
    let log = dns.asked_lines();
    let quiet = ["udp MX quiet.test", "tcp MX quiet.test"].map(String::from);
    assert!(
        quiet.iter().all(|q| log.contains(q)),
        "silence is logged: {log:?}"
    );
}

#[test]
fn glibc_in_the_namespace_resolves_through_the_dns_server_only() {
    let Some(dns) = DnsServer::start_or_skip(zone()) else {
        return;
    };
    let getent = |args: &[&str]| {
        let argv = [&["getent"], args].concat();
        run_with_resolver(&dns.resolv_conf(QUICK_RESOLVER), &argv, None, RUN_LIMIT)
    };
    let Some(run) = getent(&["ahostsv4", "mx1.d.test"]) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}\n{:?}", dns.asked_lines());
    assert!(run.stdout.starts_with("127.0.0.2 "), "{run:#?}");
    let Some(run) = getent(&["hosts", "alias.test"]) else {
        return;
    };
    // alias.test has no address: the CNAME leads to d.test, which has none.
    assert_eq!(run.status, Some(2), "{run:#?}");
    // A name of the machine's own /etc/hosts is unknown in the namespace.
    let Some(run) = getent(&["hosts", "vm"]) else {
        return;
    };
    assert_eq!(run.status, Some(2), "{run:#?}");
    // resolv.conf(5)'s "timeout:1 attempts:1": one try of one second.
    let Some(run) = getent(&["ahostsv4", "quiet.test"]) else {
        return;
    };
    assert_eq!(run.status, Some(2), "{run:#?}");
    let second = Duration::from_secs(1);
    let quick = run.elapsed >= second && run.elapsed < Duration::from_millis(1700);
    assert!(quick, "{run:#?}");
    let log = dns.asked_lines();
    let tries = log.iter().filter(|q| *q == "udp A quiet.test").count();
    assert_eq!(tries, 1, "{log:?}");
    for query in ["udp A mx1.d.test", "udp A alias.test", "udp A vm"] {
        assert!(log.iter().any(|q| q == query), "no {query:?}: {log:?}");
    }
}

#[test]
fn the_dns_server_stops_when_dropped() {
    let Some(dns) = DnsServer::start_or_skip(zone()) else {
        return;
    };
    let addr: SocketAddr = dns.addr();
    let start = Instant::now();
    drop(dns);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(TcpStream::connect(addr).is_err(), "the TCP port is closed");
    UdpSocket::bind(addr).expect("the UDP port is free again");
}

#[test]
fn servers_given_by_name_resolve_through_the_dns_server() {
    // No --mx: the exchanges' addresses alone come from the test server.
    let zone = Zone::new()
        .a("mx1.d.test", "127.0.0.2")
        .a("mx2.d.test", "127.0.0.3");
    let row = Row::new("names as arguments", zone, Expect::Available("mx2.d.test"))
        .host("127.0.0.2", down())
        .host("127.0.0.3", up())
        .args(&["10:mx1.d.test", "20:mx2.d.test"])
        .asked("udp A mx1.d.test")
        .asked("udp A mx2.d.test");
    check_rows(vec![row]);
}
