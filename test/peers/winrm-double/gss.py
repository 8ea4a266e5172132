"""Real Kerberos for the WinRM double: a GSSAPI acceptor (MIT krb5 through Debian's
python3-gssapi) with the target's keytab (KRB5_KTNAME), one security context per TCP
connection as on Windows, and MS-WSMV 2.2.9.1.1 message encryption: RFC 4121 wrap tokens
with confidentiality, framed as multipart/encrypted. Nothing here is simulated: a ticket the
keytab cannot decrypt, a body whose wrap token fails its integrity check or a wrap without
confidentiality is refused.
"""

import base64
import re
import struct

import gssapi
from gssapi.raw import IOV, IOVBufferType, unwrap_iov, wrap_iov

# The encrypted body's protocol follows the connection's authentication scheme (MS-WSMV
# 2.2.9.1.1): `Negotiate` (what pywinrm sends, SPNEGO or raw Kerberos inside) or `Kerberos`.
PROTOCOLS = {
    "negotiate": "application/HTTP-SPNEGO-session-encrypted",
    "kerberos": "application/HTTP-Kerberos-session-encrypted",
}
BOUNDARY = b"--Encrypted Boundary"


def content_type(protocol):
    return 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % protocol


class Refused(Exception):
    """The peer's token or message does not stand: the caller answers 400/401. `reason` is
    one of: auth, malformed, integrity (the wrap token's check failed: tampered, replayed or
    out of sequence), unencrypted (a wrap token without confidentiality)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Acceptor:
    """One connection's security context (WinRM's authentication is per connection)."""

    def __init__(self):
        self._creds = gssapi.Credentials(usage="accept")
        self.ctx = None
        self.protocol = None  # of the scheme the context was accepted under

    def drop(self):
        self.ctx = self.protocol = None

    @property
    def principal(self):
        if self.ctx is None or not self.ctx.complete:
            return None
        return str(self.ctx.initiator_name)

    def step(self, scheme, token):
        """Accepts an AP-REQ (raw Kerberos or SPNEGO); returns the AP-REP for mutual auth."""
        self.drop()
        ctx = gssapi.SecurityContext(creds=self._creds, usage="accept")
        try:
            out = ctx.step(token)
            # python-gssapi holds back an error that came with an output token (a KRB-ERROR)
            # and raises it on the context's next use: this one.
            complete = ctx.complete
        except gssapi.exceptions.GSSError as err:
            raise Refused("auth") from err
        if not complete:
            raise Refused("auth")
        self.ctx, self.protocol = ctx, PROTOCOLS[scheme.lower()]
        return out

    def wrap(self, data):
        """header, encrypted data (wrap_iov HEADER|DATA|PADDING: the trailer rotated into the
        header, RRC, as Windows and pykerberos do)."""
        iov = IOV(IOVBufferType.header, data, IOVBufferType.padding, std_layout=False)
        wrap_iov(self.ctx, iov, confidential=True)
        return iov[0].value, iov[1].value + (iov[2].value or b"")

    def unwrap(self, header, data):
        iov = IOV((IOVBufferType.header, False, header), data, std_layout=False)
        try:
            res = unwrap_iov(self.ctx, iov)
        except gssapi.exceptions.GSSError as err:
            raise Refused("integrity") from err
        if not res.encrypted:
            raise Refused("unencrypted")
        return iov[1].value


def encrypt(acceptor, soap):
    """The multipart/encrypted body of one SOAP message (MS-WSMV 2.2.9.1.1)."""
    header, enc = acceptor.wrap(soap)
    return (
        BOUNDARY + b"\r\n"
        b"\tContent-Type: " + acceptor.protocol.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(soap)).encode() + b"\r\n"
        + BOUNDARY + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header)) + header + enc
        + BOUNDARY + b"--\r\n"
    )


_PART = re.compile(
    rb"^--Encrypted Boundary\r\n\s*Content-Type: (application/HTTP-[A-Za-z]+-session-encrypted)\r\n"
    rb"\s*OriginalContent: type=application/soap\+xml;charset=UTF-8;Length=(\d+)\r\n"
    rb"--Encrypted Boundary\r\n\s*Content-Type: application/octet-stream\r\n(.*)"
    rb"--Encrypted Boundary--\r\n$",
    re.DOTALL | re.IGNORECASE,
)


def decrypt(acceptor, body):
    """The SOAP message in a multipart/encrypted body; Refused when malformed or tampered."""
    m = _PART.match(body)
    if m is None or m.group(1).decode().lower() != acceptor.protocol.lower():
        raise Refused("malformed")  # or not this connection's protocol
    stream = m.group(3)
    if len(stream) < 4:
        raise Refused("malformed")
    (hlen,) = struct.unpack("<I", stream[:4])
    if hlen > len(stream) - 4:
        raise Refused("malformed")
    soap = acceptor.unwrap(stream[4 : 4 + hlen], stream[4 + hlen :])
    if len(soap) != int(m.group(2)):
        raise Refused("malformed")
    return soap


def parse_authorization(value):
    """(scheme, token) of `Negotiate <b64>` / `Kerberos <b64>`, else None."""
    parts = (value or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() not in ("negotiate", "kerberos"):
        return None
    try:
        return parts[0], base64.b64decode(parts[1], validate=True)
    except ValueError:
        return None
