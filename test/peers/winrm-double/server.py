"""A protocol-faithful WinRM (WS-Management) double for tests, on 127.0.0.1 only.

Real: Kerberos (a GSSAPI acceptor with the target's keytab from the test KDC: KRB5_KTNAME),
mutual authentication (the AP-REP in WWW-Authenticate), message encryption (RFC 4121 wrap
tokens in multipart/encrypted, MS-WSMV 2.2.9.1.1), unencrypted bodies refused once
authenticated (Windows' default AllowUnencrypted=false), the WinRS shell's operations and
WS-Man faults. Stand-ins: the commands and PowerShell (runner.py, powershell.py).

Usage: python3 server.py MACHINE SANDBOX LOG — prints `listening PORT` once it accepts
connections; appends one JSON line per request to LOG (operation, principal, encrypted,
HTTP status, fault subcode), and each decoded PowerShell script.
"""

import base64
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gss
import wsman
from shell import Shells

MACHINE, SANDBOX, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
_log_lock = threading.Lock()


def log(entry):
    with _log_lock, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def user_of(principal):
    """`alice@BASTION.TEST` → `bastion\\alice`: the Windows-like account of a principal."""
    name, _, realm = principal.partition("@")
    return "%s\\%s" % (realm.split(".")[0].lower(), name)


SHELLS = Shells(SANDBOX, MACHINE.split(".")[0], user_of, log)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"

    def setup(self):
        super().setup()
        self.acceptor = gss.Acceptor()  # per connection, as WinRM's authentication is

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", content_type=None, headers=(), close=False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _unauthorized(self, entry):
        log({**entry, "status": 401})
        challenge = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "Kerberos")]
        self._send(401, headers=challenge)

    def do_GET(self):
        self._send(405, close=True)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        entry = {"path": self.path, "operation": None, "principal": None, "encrypted": False}
        if self.path != "/wsman":
            log({**entry, "status": 404})
            return self._send(404, close=True)
        auth_headers = []
        if self.headers.get("Authorization"):
            parsed = gss.parse_authorization(self.headers["Authorization"])
            if parsed is None:
                return self._unauthorized(entry)
            try:
                ap_rep = self.acceptor.step(*parsed)
            except gss.Refused:
                return self._unauthorized(entry)
            if ap_rep:
                auth_headers.append(
                    ("WWW-Authenticate", "%s %s" % (parsed[0], base64.b64encode(ap_rep).decode()))
                )
        principal = self.acceptor.principal
        if principal is None:
            return self._unauthorized(entry)
        entry["principal"] = principal
        if not body:  # a client's context setup (pywinrm posts an empty body first)
            log({**entry, "status": 200})
            return self._send(200, headers=auth_headers)

        content_type = self.headers.get("Content-Type", "")
        entry["encrypted"] = content_type.lower().startswith("multipart/encrypted")
        if not entry["encrypted"] or ('protocol="%s"' % self.acceptor.protocol) not in content_type:
            # AllowUnencrypted=false: a plaintext body is refused, unread.
            return self._refuse(entry, auth_headers, "unencrypted")
        try:
            soap = gss.decrypt(self.acceptor, body)
        except gss.Refused as refused:
            return self._refuse(entry, auth_headers, refused.reason)

        relates_to = ""
        try:
            req = wsman.Request(soap)
            relates_to = req.message_id
            entry["operation"] = req.action
            action, reply, shell_id = SHELLS.handle(req, principal)
            out, status = wsman.envelope(action, relates_to, reply, shell_id), 200
        except wsman.Fault as fault:
            entry["fault"] = fault.subcode
            out, status = wsman.fault_envelope(fault, relates_to, MACHINE), fault.status
        log({**entry, "status": status})
        body = gss.encrypt(self.acceptor, out)
        self._send(status, body, gss.content_type(self.acceptor.protocol), auth_headers)

    def _refuse(self, entry, auth_headers, why):
        """400 with an (unencrypted) access-denied fault; the connection's context is dropped."""
        fault = wsman.access_denied()
        self.acceptor.drop()
        log({**entry, "status": 400, "fault": fault.subcode, "refused": why})
        out = wsman.fault_envelope(fault, "", MACHINE)
        self._send(400, out, "application/soap+xml;charset=UTF-8", auth_headers, close=True)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # SIGTERM (the test helper's stop): end the commands still running, then exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    finally:
        SHELLS.close()


if __name__ == "__main__":
    main()
