"""pywinrm (PyPI, with pykerberos) against the WinRM double: Kerberos and message encryption.

Run by test/peers/winrm-double.test.ts with the double's endpoint and a Kerberos ccache
(KRB5CCNAME, from kinit) in the environment. `main` drives what a pywinrm user does —
run_cmd, run_ps — and the protocol's edges (an unknown ShellId, an operation timeout on
Receive, ctrl_c, a plaintext body, a tampered encrypted body, a ticket for another host)
and prints one JSON object of what pywinrm got; `use-shell ID` tries another user's shell.
No traffic leaves 127.0.0.1: the double is the only server, the test KDC the only KDC.
"""

import json
import os
import sys
import uuid

import xmltodict
from winrm import Session
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
)
from winrm.protocol import Protocol

ENDPOINT = os.environ["WINRM_ENDPOINT"]
HOST = os.environ["WINRM_HOST"]
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"


def protocol(**kwargs):
    options = dict(
        transport="kerberos",
        message_encryption="always",
        kerberos_hostname_override=HOST,
    )
    options.update(kwargs)
    return Protocol(ENDPOINT, **options)


def error(err):
    """What a refused request looked like to pywinrm."""
    out = {"type": type(err).__name__, "text": str(err)}
    if isinstance(err, WinRMTransportError):
        out["code"] = err.code
        out["response"] = err.response_text
    return out


def attempt(fn):
    try:
        return {"ok": fn()}
    except (WinRMError, InvalidCredentialsError) as err:
        return {"error": error(err)}


def ctrl_c(p, shell_id, command_id):
    """Signal ctrl_c (pywinrm only sends terminate): its own Signal message."""
    message_id = uuid.uuid4()
    req = {
        "env:Envelope": p.build_wsman_header(
            resource_uri=SHELL + "cmd",
            action=SHELL + "Signal",
            shell_id=shell_id,
            message_id=message_id,
        )
    }
    body = req["env:Envelope"].setdefault("env:Body", {}).setdefault("rsp:Signal", {})
    body["@CommandId"] = command_id
    body["rsp:Code"] = SHELL + "signal/ctrl_c"
    p.send_message(xmltodict.unparse(req))


def output(rs):
    return {"stdout": rs.std_out.decode(), "stderr": rs.std_err.decode(), "status": rs.status_code}


def main():
    out = {}
    session = Session(
        ENDPOINT,
        auth=(None, None),
        transport="kerberos",
        message_encryption="always",
        kerberos_hostname_override=HOST,
    )
    out["whoami"] = output(session.run_cmd("whoami"))
    out["exit3"] = output(session.run_cmd("cmd", ["/c", "exit 3"]))
    out["echo"] = output(session.run_cmd("echo", ["hello", "winrm"]))
    out["ps_hello"] = output(session.run_ps("Write-Output hello"))
    out["ps_env"] = output(session.run_ps("$env:USERNAME; whoami"))
    out["ps_failing"] = output(session.run_ps('Write-Output before\nthrow "it failed"'))
    out["unknown_command"] = output(session.run_cmd("format", ["c:"]))
    wsman_spn = Session(ENDPOINT, auth=(None, None), transport="kerberos",
                        message_encryption="always", kerberos_hostname_override=HOST,
                        service="WSMAN")
    out["whoami_wsman_spn"] = output(wsman_spn.run_cmd("whoami"))

    p = protocol()
    out["unknown_shell"] = attempt(lambda: p.run_command(str(uuid.uuid4()).upper(), "whoami"))

    # Receive with a 1 s OperationTimeout on a command that runs until signalled.
    slow = protocol(operation_timeout_sec=1, read_timeout_sec=5)
    shell_id = slow.open_shell()
    command_id = slow.run_command(shell_id, "ping", ["-t", "127.0.0.1"])
    first = slow._raw_get_command_output(shell_id, command_id)
    out["ping_first"] = {"stdout": first[0].decode(), "done": first[3]}
    try:
        slow._raw_get_command_output(shell_id, command_id)
        out["receive_timeout"] = "no timeout"
    except WinRMOperationTimeoutError:
        out["receive_timeout"] = "WinRMOperationTimeoutError"
    ctrl_c(slow, shell_id, command_id)
    stdout, stderr, code = slow.get_command_output(shell_id, command_id)
    out["after_ctrl_c"] = {"stdout": stdout.decode(), "status": code}
    slow.cleanup_command(shell_id, command_id)
    slow.close_shell(shell_id)
    out["deleted_shell"] = attempt(lambda: slow.run_command(shell_id, "whoami"))

    # Authenticated, but the body in plaintext (AllowUnencrypted=false on the server).
    out["plaintext"] = attempt(lambda: protocol(message_encryption="never").open_shell())

    # Authenticated and encrypted, but one byte of the wrap token's ciphertext flipped.
    tampered = protocol()
    tampered.transport.build_session()
    enc = tampered.transport.encryption
    build = enc._build_message

    def flip(message, host):
        stream = bytearray(build(message, host))
        stream[-40] ^= 0x01
        return bytes(stream)

    enc._build_message = flip
    out["tampered"] = attempt(lambda: tampered.open_shell())

    # A ticket for another host's service: the double's keytab cannot decrypt it.
    out["other_spn"] = attempt(
        lambda: protocol(kerberos_hostname_override="other.bastion.test", service="host").open_shell()
    )

    # A shell left open for another user to try (use-shell).
    out["kept_shell"] = protocol().open_shell()
    json.dump(out, sys.stdout)


def use_shell(shell_id):
    json.dump({"use_shell": attempt(lambda: protocol().run_command(shell_id, "whoami"))}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "main":
        main()
    else:
        use_shell(sys.argv[2])
