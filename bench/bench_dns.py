"""The scripted DNS server of the policy and filter benches (bench/policy.sh
runs them in its mount namespace, whose resolv.conf names 127.0.53.53).
dnspython builds and parses every message. Names, any N:

  dN.test  MX 10 mx1.d.test (127.0.0.2: the instant server greets there)
           MX 20 mx2.d.test (127.0.0.1: this host)
  rN.test  MX 10 mx1.r.test (127.0.0.4: nothing listens, refused), MX 20 mx2.d.test
  qN.test  MX 10 mx1.q.test (127.0.0.3: accepts and never greets), MX 20 mx2.d.test
  nN.test  a null MX (RFC 7505)

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


def answer(query):
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    question = query.question[0]
    name, rdtype = question.name.to_text().lower(), question.rdtype
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


def _serve(sock):
    while True:
        try:
            data, peer = sock.recvfrom(4096)
            sock.sendto(answer(dns.message.from_wire(data)).to_wire(), peer)
        except Exception:
            continue


def start():
    """Serves UDP on ADDRESS from a daemon thread, for the process's life."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(ADDRESS)
    threading.Thread(target=_serve, args=(sock,), daemon=True).start()
