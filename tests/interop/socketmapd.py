#!/usr/bin/python3
"""A test double of `smtpdcheck --sendmail-socketmap` for the interop tests:
a sendmail socket map server (netstrings: request "MAPNAME KEY", reply
"OK value", "NOTFOUND ", "TEMP reason", ...).

Usage: socketmapd.py LOG MODE [ARG...]

Serves the listening socket passed as fd 3 (LISTEN_FDS=1, as
systemd-socket-activate and systemd's socket units pass it), one thread
per connection, many requests per connection. Appends one line per
request, "MAPNAME KEY -> REPLY", to LOG. MODE:

  run CMD...   per request, runs CMD with the key's domain (the part after
               the last "@", without a trailing dot) as its last argument,
               smtpdcheck --mx's contract: exit 1 and a name on stdout ->
               "OK name"; exit 0 -> "NOTFOUND "; anything else -> "TEMP"
  reply TEXT   answers every request with the netstring of TEXT as is
  raw BYTES    writes BYTES (not a netstring) and closes the connection
  close        closes the connection without an answer
  hang         never answers (the connection stays open)

Every wait is bounded: a connection idle for 600 s is closed.
"""
import os
import socket
import subprocess
import sys
import threading

# The request limit of smtpdcheck's own reader (socketmap.rs).
MAX_REQUEST_LEN = 1024
IDLE_SECONDS = 600
COMMAND_SECONDS = 30


def read_netstring(conn, buffer):
    """One netstring payload off the connection, or None (EOF, garbage)."""
    while True:
        head, colon, rest = buffer[0].partition(b":")
        if colon:
            if not head.isdigit() or int(head) > MAX_REQUEST_LEN:
                return None
            length = int(head)
            if len(rest) >= length + 1:
                if rest[length:length + 1] != b",":
                    return None
                buffer[0] = rest[length + 1:]
                return rest[:length]
        elif len(head) > 4:
            return None
        data = conn.recv(4096)
        if not data:
            return None
        buffer[0] += data


def netstring(payload):
    return str(len(payload)).encode() + b":" + payload + b","


def domain_of(key):
    domain = key.rsplit("@", 1)[-1]
    return domain[:-1] if domain.endswith(".") else domain


def answer(mode, args, key):
    if mode == "reply":
        return args[0].encode()
    try:
        done = subprocess.run(args + [domain_of(key)], capture_output=True,
                              timeout=COMMAND_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return b"TEMP " + str(err).encode()[:200]
    if done.returncode == 1:
        name = done.stdout.decode(errors="replace").split("\n")[0].strip()
        return b"OK " + name.encode()
    if done.returncode == 0:
        return b"NOTFOUND "
    return b"TEMP smtpdcheck exit %d" % done.returncode


def serve(conn, log, mode, args):
    conn.settimeout(IDLE_SECONDS)
    buffer = [b""]
    try:
        with conn:
            while True:
                request = read_netstring(conn, buffer)
                if request is None:
                    return
                name, _, key = request.decode(errors="replace").partition(" ")
                if mode == "close":
                    reply = None
                elif mode == "hang":
                    reply = None
                elif mode == "raw":
                    reply = args[0].encode()
                else:
                    reply = answer(mode, args, key)
                with open(log, "a") as f:
                    f.write("%s %s -> %s\n" % (name, key, "(%s)" % mode if reply is None
                                                else reply.decode(errors="replace")))
                if mode == "close":
                    return
                if mode == "hang":
                    conn.recv(1)  # until sendmail gives up (or IDLE_SECONDS)
                    return
                if mode == "raw":
                    conn.sendall(reply)
                    return
                conn.sendall(netstring(reply))
    except OSError as err:
        print("socketmapd.py: %s" % err, file=sys.stderr, flush=True)


def main():
    log, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if os.environ.get("LISTEN_FDS") != "1" or os.environ.get("LISTEN_PID") != str(os.getpid()):
        print("socketmapd.py: no listening socket passed (LISTEN_FDS)", file=sys.stderr)
        return 2
    listener = socket.socket(fileno=3)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, log, mode, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
