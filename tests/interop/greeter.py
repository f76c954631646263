#!/usr/bin/python3
"""A scripted primary MX for the interop tests: greets and says goodbye.

Usage: greeter.py ADDRESS PORT NAME MAX-SECONDS

Listens on ADDRESS:PORT; each connection gets "220 NAME ESMTP", then 250 to
EHLO/HELO/NOOP/RSET, 221 to QUIT and 502 to anything else, each line read
within 10 seconds. Appends one line per connection to NAME.connections in
the working directory. Exits on SIGTERM or after MAX-SECONDS.
"""
import signal
import socketserver
import sys
import threading

LINE_LIMIT = 1000  # RFC 5321 §4.5.3.1.6: a command line's octets


class Smtp(socketserver.StreamRequestHandler):
    timeout = 10

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        name = self.server.name
        with open(name + ".connections", "a") as f:
            f.write("%s:%d\n" % self.client_address[:2])
        try:
            self.reply("220 %s ESMTP scripted primary" % name)
            while True:
                line = self.rfile.readline(LINE_LIMIT)
                if not line:
                    return
                verb = line.decode("ascii", "replace").strip().split(" ")[0].upper()
                if verb == "QUIT":
                    self.reply("221 2.0.0 bye")
                    return
                if verb in ("EHLO", "HELO", "NOOP", "RSET"):
                    self.reply("250 %s" % name)
                else:
                    self.reply("502 5.5.1 not here")
        except OSError:
            pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    address, port, name, max_seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    server = Server((address, port), Smtp)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait(max_seconds)
    server.shutdown()


if __name__ == "__main__":
    main()
