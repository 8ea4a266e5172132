"""A second, raw client of the WinRM double: MIT GSSAPI (Debian's python3-gssapi) and
http.client, with the `Kerberos` authentication scheme (pywinrm uses `Negotiate`), so it
can send what no well-behaved client sends. Run by test/peers/winrm-double.test.ts with a
ccache (KRB5CCNAME) and the double's port; prints one JSON object:

  create     an encrypted Create on an authenticated connection: status, ShellId (the reply
             unwrapped here, mutual authentication checked)
  replayed   the same encrypted body again on that connection: status
  signed     a wrap token without confidentiality (signed, not encrypted): status
"""

import base64
import http.client
import json
import os
import re
import struct
import sys
import uuid

import gssapi
from gssapi.raw import IOV, IOVBufferType, unwrap_iov, wrap_iov

PORT = int(os.environ["WINRM_PORT"])
HOST = os.environ["WINRM_HOST"]
PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
CONTENT_TYPE = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL
CREATE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
 xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>
<a:To>http://%s:5985/wsman</a:To><a:MessageID>uuid:%s</a:MessageID>
<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>
<w:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>
<w:OperationTimeout>PT20S</w:OperationTimeout></s:Header>
<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>
<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body></s:Envelope>"""


def connect():
    """An authenticated connection: AP-REQ in `Kerberos`, the AP-REP checked."""
    name = gssapi.Name("HTTP@" + HOST, gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=name, usage="initiate")
    token = ctx.step()
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    auth = "Kerberos " + base64.b64encode(token).decode()
    conn.request("POST", "/wsman", b"", {"Authorization": auth})
    res = conn.getresponse()
    res.read()
    scheme, ap_rep = res.getheader("WWW-Authenticate").split()
    ctx.step(base64.b64decode(ap_rep))
    assert scheme == "Kerberos" and ctx.complete and res.status == 200
    return conn, ctx


def encrypted(ctx, soap, confidential=True):
    iov = IOV(IOVBufferType.header, soap, IOVBufferType.padding, std_layout=False)
    wrap_iov(ctx, iov, confidential=confidential)
    header, data = iov[0].value, iov[1].value + (iov[2].value or b"")
    return (
        b"--Encrypted Boundary\r\n\tContent-Type: " + PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n" % len(soap)
        + b"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header)) + header + data + b"--Encrypted Boundary--\r\n"
    )


def decrypted(ctx, body):
    stream = body.split(b"Content-Type: application/octet-stream\r\n", 1)[1]
    stream = stream[: -len(b"--Encrypted Boundary--\r\n")]
    (hlen,) = struct.unpack("<I", stream[:4])
    iov = IOV((IOVBufferType.header, False, stream[4 : 4 + hlen]), stream[4 + hlen :],
              std_layout=False)
    assert unwrap_iov(ctx, iov).encrypted
    return iov[1].value.decode()


def post(conn, body):
    conn.request("POST", "/wsman", body, {"Content-Type": CONTENT_TYPE})
    res = conn.getresponse()
    return res.status, res.read(), res.getheader("Content-Type")


out = {}
conn, ctx = connect()
body = encrypted(ctx, (CREATE % (HOST, uuid.uuid4())).encode())
status, reply, content_type = post(conn, body)
shell = re.search(r'<w:Selector Name="ShellId">([^<]+)<', decrypted(ctx, reply))
out["create"] = {"status": status, "shell_id": shell.group(1), "content_type": content_type}
out["replayed"] = {"status": post(conn, body)[0]}
conn, ctx = connect()
out["signed"] = {
    "status": post(conn, encrypted(ctx, (CREATE % (HOST, uuid.uuid4())).encode(), False))[0]
}
json.dump(out, sys.stdout)
