"""The DNS and the MTA-STS policy host of (j) in bench/check_mx.sh.

Usage: j_services.py CERT KEY POLICY-ADDRESS MX-PORT SPKI BAD-SPKI MAX-SECONDS MX-ADDRESS...

Serves bench/bench_dns.py on 127.0.53.53:53 with its j.test zone
(add_j_zone: the MX hosts on MX-ADDRESS... with TLSA 3 1 1 SPKI at
_MX-PORT._tcp.<host>, bad.j.test with BAD-SPKI), and HTTPS on
POLICY-ADDRESS:443 (certificate CERT for mta-sts.j.test, key KEY) with the
domain's MTA-STS policy at /.well-known/mta-sts.txt (RFC 8461 section
3.2); every other path is 404. Prints "ready" once both listen; exits
after MAX-SECONDS.
"""
import http.server
import socket
import ssl
import sys
import threading

import bench_dns

CERT, KEY, POLICY_ADDRESS, MX_PORT, SPKI, BAD_SPKI, MAX_SECONDS = sys.argv[1:8]
MX_ADDRESSES = sys.argv[8:]
# RFC 8461 section 3.2: the policy's well-known path on the policy host,
# served as text/plain; lines end in CRLF (LF is accepted too).
POLICY_PATH = "/.well-known/mta-sts.txt"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: *.j.test\r\nmax_age: 86400\r\n"
HTTPS_PORT = 443
CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
CONTEXT.load_cert_chain(CERT, KEY)


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # every read bounded

    def do_GET(self):
        found = self.path == POLICY_PATH
        body = POLICY if found else b"not found\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per request would only slow the bench down


class PolicyServer(http.server.ThreadingHTTPServer):
    """HTTPS: the TLS handshake happens in each connection's own thread
    (bounded like its reads), not in the accepting one."""

    daemon_threads = True

    def finish_request(self, request, client_address):
        request.settimeout(PolicyHandler.timeout)
        # The header and the body go out as two writes: without this the
        # body would wait behind the client's delayed ACK (Nagle), 40 ms.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = CONTEXT.wrap_socket(request, server_side=True)
        self.RequestHandlerClass(tls, client_address, self)


bench_dns.add_j_zone(int(MX_PORT), MX_ADDRESSES, SPKI, BAD_SPKI, POLICY_ADDRESS)
bench_dns.start(memo=True)
server = PolicyServer((POLICY_ADDRESS, HTTPS_PORT), PolicyHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
threading.Event().wait(float(MAX_SECONDS))
