"""A line-driven GSSAPI acceptor for the initiator's tests: the WinRM double's own Acceptor
(test/peers/winrm-double/gss.py: MIT krb5 through Debian's python3-gssapi, the target's
keytab from KRB5_KTNAME), driven one JSON request per stdin line, one JSON answer per
stdout line. With GSS_ACCEPTOR_PRINCIPAL set, it accepts for that one principal of its
keytab only (a service's own acceptor), not for any of them. Requests: accept (scheme, token) -> initiator, reply; wrap (data) -> header,
data; unwrap (header, data) -> data, or error (the Refused reason). Bytes are base64.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "winrm-double"))
import gss  # noqa: E402  (the double's acceptor, on purpose the same code)
import gssapi  # noqa: E402


def b64(data):
    return base64.b64encode(data or b"").decode()


def main():
    acceptor = gss.Acceptor()
    principal = os.environ.get("GSS_ACCEPTOR_PRINCIPAL")
    if principal:
        name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
        acceptor._creds = gssapi.Credentials(name=name, usage="accept")
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "accept":
                out = acceptor.step(req["scheme"], base64.b64decode(req["token"]))
                res = {"initiator": acceptor.principal, "reply": b64(out)}
            elif op == "wrap":
                header, data = acceptor.wrap(base64.b64decode(req["data"]))
                res = {"header": b64(header), "data": b64(data)}
            elif op == "unwrap":
                plain = acceptor.unwrap(base64.b64decode(req["header"]), base64.b64decode(req["data"]))
                res = {"data": b64(plain)}
            elif op == "encrypt":
                res = {"body": b64(gss.encrypt(acceptor, base64.b64decode(req["data"])))}
            elif op == "decrypt":
                res = {"data": b64(gss.decrypt(acceptor, base64.b64decode(req["body"])))}
            else:
                res = {"error": "unknown op"}
        except gss.Refused as err:
            res = {"error": err.reason}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
