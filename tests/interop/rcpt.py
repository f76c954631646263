#!/usr/bin/python3
"""An SMTP client for the interop tests that stops at RCPT TO.

Usage: rcpt.py SERVER PORT SOURCE-ADDRESS RECIPIENT

Connects from SOURCE-ADDRESS (so the MTA does not see a trusted network),
says EHLO and MAIL FROM, then RCPT TO:<RECIPIENT>, and prints the RCPT
reply as "CODE TEXT" on stdout; QUIT. Exits 0 when a reply came, 1 when
the dialogue failed before it. Every wait is bounded (30 s).
"""
import smtplib
import sys


def main():
    server, port, source, recipient = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    try:
        smtp = smtplib.SMTP(server, port, local_hostname="client.example.test",
                            timeout=30, source_address=(source, 0))
        smtp.ehlo()
        code, text = smtp.mail("sender@example.test")
        if code != 250:
            print("MAIL FROM: %d %s" % (code, text.decode(errors="replace")), file=sys.stderr)
            return 1
        code, text = smtp.rcpt(recipient)
        print("%d %s" % (code, text.decode(errors="replace").replace("\n", " ")))
        smtp.quit()
        return 0
    except (OSError, smtplib.SMTPException) as err:
        print("rcpt.py: %s:%d: %s" % (server, port, err), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
