"""A loopback SMTP server with STARTTLS for bench/check_mx.sh.

Usage: tls_server.py CERT KEY PORT MAX-SECONDS ADDRESS...

On each ADDRESS:PORT: greets `220 bench ESMTP` at once, answers EHLO with
STARTTLS offered (before TLS) or not (after), STARTTLS with 220 and a TLS
handshake (the certificate CERT, key KEY), QUIT with 221; every read is
bounded (10 s). Prints "ready" once listening; exits after MAX-SECONDS.
"""
import socket
import ssl
import sys
import threading

CERT, KEY, PORT, MAX_SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ADDRESSES = sys.argv[5:]
CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
CONTEXT.load_cert_chain(CERT, KEY)


def serve(conn):
    conn.settimeout(10)
    # Replies go out at once (no Nagle delay behind a delayed ACK).
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream, tls = conn, False
    try:
        stream.sendall(b"220 bench ESMTP\r\n")
        reader = stream.makefile("rb")
        while True:
            line = reader.readline(1000)
            if not line:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                if tls:
                    stream.sendall(b"250-bench\r\n250 8BITMIME\r\n")
                else:
                    stream.sendall(b"250-bench\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS" and not tls:
                stream.sendall(b"220 go ahead\r\n")
                stream = CONTEXT.wrap_socket(conn, server_side=True)
                reader, tls = stream.makefile("rb"), True
            elif verb == b"QUIT":
                stream.sendall(b"221 bye\r\n")
                return
            else:
                stream.sendall(b"502 no\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def listen(address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, PORT))
    sock.listen(128)
    return sock


def accept_forever(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


for sock in [listen(a) for a in ADDRESSES]:
    threading.Thread(target=accept_forever, args=(sock,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(MAX_SECONDS)
