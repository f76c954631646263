#!/usr/bin/python3
"""Scripted DNS server for the interop tests: the MTAs' smtpdcheck looks up
MX records here, through a private /etc/resolv.conf, so no query leaves the
machine.

Usage: dnsd.py ADDRESS ZONE-FILE MAX-SECONDS

Serves the zone (RFC 1035 master file format, read by dnspython) on
ADDRESS port 53, UDP and TCP, authoritatively: the records of a name,
NXDOMAIN for a name the zone lacks, NOERROR with the SOA for a type a name
lacks, REFUSED outside the zone. Every query is appended to ZONE-FILE.log.
Exits on SIGTERM or after MAX-SECONDS.
"""
import signal
import socket
import socketserver
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone

# RFC 1035 §4.2.2: a TCP message is preceded by its two-octet length.
TCP_LENGTH_OCTETS = 2
# RFC 1035 §2.3.4: the UDP payload limit without EDNS.
UDP_PAYLOAD = 512


def answer(zone, log, wire):
    """The response to one query in wire format, or None for garbage."""
    try:
        query = dns.message.from_wire(wire)
    except Exception:  # a malformed query gets no answer
        return None
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if not query.question:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    with open(log, "a") as f:
        f.write("%s %s\n" % (question.name, dns.rdatatype.to_text(question.rdtype)))
    if not question.name.is_subdomain(zone.origin):
        response.flags &= ~dns.flags.AA
        response.set_rcode(dns.rcode.REFUSED)
        return response
    node = zone.get_node(question.name)
    soa = zone.find_rdataset(zone.origin, dns.rdatatype.SOA)
    if node is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(response.find_rrset(
            response.authority, zone.origin, soa.rdclass, soa.rdtype, create=True))
        response.authority[0].update(soa)
        return response
    rdataset = node.get_rdataset(zone.rdclass, question.rdtype)
    if rdataset is None:
        rrset = response.find_rrset(response.authority, zone.origin, soa.rdclass,
                                    soa.rdtype, create=True)
        rrset.update(soa)
        return response
    rrset = response.find_rrset(response.answer, question.name, rdataset.rdclass,
                                rdataset.rdtype, create=True)
    rrset.update(rdataset)
    return response


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        response = answer(self.server.zone, self.server.log, data)
        if response is not None:
            sock.sendto(response.to_wire(max_size=UDP_PAYLOAD), self.client_address)


class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            length = self.request.recv(TCP_LENGTH_OCTETS)
            if len(length) != TCP_LENGTH_OCTETS:
                return
            want = int.from_bytes(length, "big")
            data = b""
            while len(data) < want:
                more = self.request.recv(want - len(data))
                if not more:
                    return
                data += more
            response = answer(self.server.zone, self.server.log, data)
            if response is not None:
                wire = response.to_wire()
                self.request.sendall(len(wire).to_bytes(TCP_LENGTH_OCTETS, "big") + wire)
        except OSError:
            pass


class UdpServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    address, zone_file, max_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    zone = dns.zone.from_file(zone_file, relativize=False)
    servers = [UdpServer((address, 53), Udp), TcpServer((address, 53), Tcp)]
    for server in servers:
        server.zone = zone
        server.log = zone_file + ".log"
        threading.Thread(target=server.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait(max_seconds)
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
