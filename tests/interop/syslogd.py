#!/usr/bin/python3
"""Minimal syslog receiver for the interop tests (sendmail logs only via syslog).

Usage: syslogd.py SOCKET-PATH LOG-FILE

Binds a unix datagram socket at SOCKET-PATH and appends every message to
LOG-FILE, one line each, with the "<PRI>" prefix removed.  Exits on SIGTERM.
"""
import os
import re
import signal
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    pri = re.compile(rb"^<\d+>")
    with open(out, "ab", buffering=0) as log:
        while True:
            data = sock.recv(65536)
            line = pri.sub(b"", data).rstrip(b"\0\r\n")
            log.write(line + b"\n")


if __name__ == "__main__":
    main()
