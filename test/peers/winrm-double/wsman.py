"""WS-Management's SOAP 1.2 envelopes for the WinRM double (DMTF DSP0226, MS-WSMV): what a
request asks (action, resource URI, selectors, operation timeout, body) and the replies and
faults in the shape Windows sends them (s:Fault with a wsman subcode and an f:WSManFault
detail carrying Windows' numeric code), so clients parse them as they would a real host's.
"""

import re
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACTIONS = {
    TRANSFER + "Create": "Create",
    TRANSFER + "Delete": "Delete",
    SHELL + "Command": "Command",
    SHELL + "Receive": "Receive",
    SHELL + "Signal": "Signal",
    SHELL + "Send": "Send",
}


class Fault(Exception):
    """A WS-Man fault: HTTP 500 with a SOAP fault (Windows' codes)."""

    def __init__(self, code, subcode, reason, wsman_code, message=None, status=500):
        super().__init__(subcode)
        self.code, self.subcode, self.reason = code, subcode, reason
        self.wsman_code, self.message, self.status = wsman_code, message or reason, status


def invalid_selectors(what):
    return Fault(
        "s:Sender",
        "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request contained"
        " invalid selectors for the resource.",
        2150858843,
        "The request for the Windows Remote Shell with %s failed because the shell was not"
        " found on the server." % what,
    )


def timed_out():
    return Fault(
        "s:Receiver",
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in"
        " OperationTimeout.",
        2150858793,
    )


def access_denied():
    return Fault("s:Sender", "w:AccessDenied", "Access is denied.", 5)


def action_not_supported():
    return Fault(
        "s:Sender",
        "a:ActionNotSupported",
        "The WS-Management service cannot process a SOAP header in the request that is marked"
        " as mustUnderstand by the client.",
        2150858775,
    )


def destination_unreachable():
    return Fault(
        "s:Sender",
        "w:DestinationUnreachable",
        "The WS-Management service cannot process the request because the resource URI is"
        " not valid.",
        2150858770,
    )


def file_not_found():
    return Fault(
        "s:Receiver", "w:InternalError", "The system cannot find the file specified.", 2147942402
    )


def invalid_message():
    return Fault(
        "s:Sender", "w:SchemaValidationError", "The SOAP XML in the message does not match the"
        " corresponding XML schema definition.", 2150858817,
    )


class Request:
    """The parts of a request the shell operations read."""

    def __init__(self, body):
        try:
            self.root = ET.fromstring(body)
        except ET.ParseError as err:
            raise invalid_message() from err
        header = self.root.find("s:Header", NS)
        self.body = self.root.find("s:Body", NS)
        if header is None or self.body is None:
            raise invalid_message()
        self.message_id = _text(header, "a:MessageID")
        action = _text(header, "a:Action")
        self.action = ACTIONS.get(action, action)
        self.resource_uri = _text(header, "w:ResourceURI")
        self.selectors = {
            s.get("Name"): (s.text or "") for s in header.findall("w:SelectorSet/w:Selector", NS)
        }
        self.timeout = _duration(_text(header, "w:OperationTimeout"))

    def find(self, path):
        return self.body.find(path, NS)


def _text(node, path):
    found = node.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _duration(value):
    """Seconds of an xs:duration such as PT20S / PT1.5S (default 60, Windows')."""
    m = re.fullmatch(r"PT(?:(\d+)M)?(\d+(?:\.\d+)?)S", value or "")
    return 60.0 if m is None else int(m.group(1) or 0) * 60 + float(m.group(2))


def envelope(action_uri, relates_to, body, shell_id=None):
    header_extra = ""
    if shell_id is not None:
        header_extra = (
            "<w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector></w:SelectorSet>"
            % escape(shell_id)
        )
    return (
        '<s:Envelope xml:lang="en-US" %s><s:Header><a:Action>%s</a:Action>'
        "<a:MessageID>uuid:%s</a:MessageID><a:To>%s</a:To><a:RelatesTo>%s</a:RelatesTo>%s"
        "</s:Header><s:Body>%s</s:Body></s:Envelope>"
        % (
            " ".join('xmlns:%s="%s"' % kv for kv in NS.items()),
            action_uri,
            str(uuid.uuid4()).upper(),
            ANONYMOUS,
            escape(relates_to),
            header_extra,
            body,
        )
    ).encode("utf-8")


def fault_envelope(fault, relates_to, machine):
    body = (
        "<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode>"
        '</s:Code><s:Reason><s:Text xml:lang="en-US">%s </s:Text></s:Reason><s:Detail>'
        '<f:WSManFault Code="%d" Machine="%s"><f:Message>%s </f:Message></f:WSManFault>'
        "</s:Detail></s:Fault>"
        % (
            fault.code,
            fault.subcode,
            escape(fault.reason),
            fault.wsman_code,
            escape(machine),
            escape(fault.message),
        )
    )
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)
