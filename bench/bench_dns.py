"""The scripted DNS server of the policy and filter benches (bench/policy.sh
runs them in its mount namespace, whose resolv.conf names 127.0.53.53).
dnspython builds and parses every message. Names, any N:

  dN.test  MX 10 mx1.d.test (127.0.0.2: the instant server greets there)
           MX 20 mx2.d.test (127.0.0.1: this host)
  rN.test  MX 10 mx1.r.test (127.0.0.4: nothing listens, refused), MX 20 mx2.d.test
  qN.test  MX 10 mx1.q.test (127.0.0.3: accepts and never greets), MX 20 mx2.d.test
  nN.test  a null MX (RFC 7505)

and, once add_j_zone has been called (bench/check_mx.sh's (j)), the
DNSSEC-signed domain j.test: answers under it carry the AD bit (this
server plays a validating resolver):

  j.test                  MX 10/20/30 mx1/mx2/mx3.j.test
  mxN.j.test, bad.j.test  A (the STARTTLS servers; bad.j.test is mx1's address)
  _PORT._tcp.mxN.j.test   TLSA 3 1 1 of the servers' key (RFC 6698, RFC 7672)
  _PORT._tcp.bad.j.test   TLSA 3 1 1 of another key: DANE must fail there
  _mta-sts.j.test         TXT "v=STSv1; id=..." (RFC 8461 section 3.1)
  mta-sts.j.test          A (the policy host)
  _smtp._tls.j.test       TXT "v=TLSRPTv1; rua=mailto:tlsrpt@j.test" (RFC 8460)

Other names are NXDOMAIN.
"""
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

ADDRESS = ("127.0.53.53", 53)
HOSTS = {"mx1.d.test.": "127.0.0.2", "mx2.d.test.": "127.0.0.1",
         "mx1.r.test.": "127.0.0.4", "mx1.q.test.": "127.0.0.3"}
MX_SETS = {"d": "10 mx1.d.test.", "r": "10 mx1.r.test.", "q": "10 mx1.q.test."}
J_DOMAIN = "j.test."
J_STS_ID = "20261205"
# (name, type) -> record texts of j.test, filled by add_j_zone.
J_RECORDS = {}


def add_j_zone(port, mx_addresses, spki_sha256, bad_spki_sha256, policy_address):
    """Serves j.test: MX hosts mx1.j.test ... on mx_addresses with TLSA
    3 1 1 spki_sha256 (hex) at _port._tcp.<host>, bad.j.test on the first
    address with TLSA 3 1 1 bad_spki_sha256, the MTA-STS and TLS-RPT TXT
    records, and mta-sts.j.test on policy_address."""
    records = {(J_DOMAIN, "MX"): [], (f"_mta-sts.{J_DOMAIN}", "TXT"): [f'"v=STSv1; id={J_STS_ID}"'],
               (f"mta-sts.{J_DOMAIN}", "A"): [policy_address],
               (f"_smtp._tls.{J_DOMAIN}", "TXT"): ['"v=TLSRPTv1; rua=mailto:tlsrpt@j.test"']}
    hosts = [(f"mx{i}.{J_DOMAIN}", address, spki_sha256) for i, address in enumerate(mx_addresses, 1)]
    for preference, (host, _, _) in zip((10, 20, 30), hosts):
        records[(J_DOMAIN, "MX")].append(f"{preference} {host}")
    for host, address, spki in [*hosts, (f"bad.{J_DOMAIN}", mx_addresses[0], bad_spki_sha256)]:
        records[(host, "A")] = [address]
        records[(f"_{port}._tcp.{host}", "TLSA")] = [f"3 1 1 {spki}"]
    J_RECORDS.update(records)


def answer_j(response, name, rdtype):
    """j.test's answer: signed (AD), NODATA for a name with other types,
    NXDOMAIN for a name it does not have."""
    response.flags |= dns.flags.AD
    texts = J_RECORDS.get((name, dns.rdatatype.to_text(rdtype)))
    if texts:
        response.answer.append(dns.rrset.from_text_list(name, 300, "IN", rdtype, texts))
    elif not any(owner == name for owner, _ in J_RECORDS):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


def answer(query):
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    question = query.question[0]
    name, rdtype = question.name.to_text().lower(), question.rdtype
    if J_RECORDS and (name == J_DOMAIN or name.endswith("." + J_DOMAIN)):
        return answer_j(response, name, rdtype)
    kind = name[:1] if name.endswith(".test.") and name not in HOSTS else None
    if rdtype == dns.rdatatype.MX and kind in MX_SETS:
        response.answer.append(dns.rrset.from_text(
            name, 300, "IN", "MX", MX_SETS[kind], "20 mx2.d.test."))
    elif rdtype == dns.rdatatype.MX and kind == "n":
        response.answer.append(dns.rrset.from_text(name, 300, "IN", "MX", "0 ."))
    elif rdtype == dns.rdatatype.A and name in HOSTS:
        response.answer.append(dns.rrset.from_text(name, 300, "IN", "A", HOSTS[name]))
    elif name not in HOSTS and kind not in ("d", "r", "q", "n"):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


# The most answers start(memo=True) keeps (bounded memory whatever is asked).
MEMO_LIMIT = 10_000


def _serve(sock, memo):
    # Keyed by the query's wire form after its 2-byte ID: the same question
    # with the same flags and EDNS gets the same answer, under its own ID.
    answers = {}
    while True:
        try:
            data, peer = sock.recvfrom(4096)
            known = answers.get(data[2:]) if memo else None
            if known is None:
                known = answer(dns.message.from_wire(data)).to_wire()[2:]
                if memo and len(answers) < MEMO_LIMIT:
                    answers[data[2:]] = known
            sock.sendto(data[:2] + known, peer)
        except Exception:
            continue


def start(memo=False):
    """Serves UDP on ADDRESS from a daemon thread, for the process's life.
    With memo, each distinct query is answered by dnspython once and then
    from memory, as a resolver answers from its cache (about 150 us of
    Python per answer otherwise, one at a time)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(ADDRESS)
    threading.Thread(target=_serve, args=(sock, memo), daemon=True).start()
