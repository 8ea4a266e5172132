"""The WinRS shell of the WinRM double (MS-WSMV 3.1.4.1.x): Create, Command, Receive,
Signal, Delete. A shell belongs to the Kerberos principal that created it (another user's
ShellId is unknown to them, as on Windows); each command is a real local process (runner.py,
the stand-in commands) in the double's sandbox directory, its stdout/stderr streamed back in
Receive, base64, until Done with the exit code, or a w:TimedOut fault when nothing happened
within OperationTimeout.
"""

import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import uuid
from xml.sax.saxutils import escape

import wsman
from wsman import NS, SHELL

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
DONE = SHELL + "CommandState/Done"
RUNNING = SHELL + "CommandState/Running"
STATUS_CONTROL_C_EXIT = -1073741510


class Command:
    def __init__(self, argv, context, sandbox):
        self.id = str(uuid.uuid4()).upper()
        self.cond = threading.Condition()
        self.out = {"stdout": b"", "stderr": b""}
        self.open_streams = 2
        self.ctrl_c = False
        env = {"PATH": "/usr/bin:/bin", "WINRS_CONTEXT": json.dumps(context)}
        self.proc = subprocess.Popen(
            [sys.executable, RUNNER, json.dumps(argv)],
            cwd=sandbox,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=self._pump, args=(name, pipe), daemon=True).start()

    def _pump(self, name, pipe):
        for chunk in iter(lambda: pipe.read1(65536), b""):
            with self.cond:
                self.out[name] += chunk
                self.cond.notify_all()
        with self.cond:
            self.open_streams -= 1
            self.cond.notify_all()

    def done(self):
        return self.open_streams == 0 and self.proc.poll() is not None

    def exit_code(self):
        code = self.proc.returncode
        if self.ctrl_c and code in (-signal.SIGINT, 130):
            return STATUS_CONTROL_C_EXIT
        return code if code >= 0 else 1

    def receive(self, timeout):
        """(stdout, stderr, done): waits for output or the end, up to `timeout` seconds."""
        with self.cond:
            self.cond.wait_for(
                lambda: self.out["stdout"] or self.out["stderr"] or self.open_streams == 0,
                timeout,
            )
            stdout, stderr = self.out["stdout"], self.out["stderr"]
            self.out = {"stdout": b"", "stderr": b""}
        if self.open_streams == 0:
            self.proc.wait()  # both pipes closed: the process is ending
        elif not stdout and not stderr:
            raise wsman.timed_out()
        return stdout, stderr, self.done()

    def signal(self, code):
        if self.proc.poll() is not None:
            return
        if code.endswith("/ctrl_c"):
            self.ctrl_c = True
            self.proc.send_signal(signal.SIGINT)
        else:  # terminate
            self.proc.kill()


class Shells:
    def __init__(self, sandbox, machine, user_of, record):
        self.sandbox, self.machine, self.user_of = sandbox, machine, user_of
        self.record = record  # the double's request log
        self.lock = threading.Lock()
        self.shells = {}  # ShellId -> {"id", "owner": principal, "commands": {CommandId: Command}}

    def handle(self, req, principal):
        """(response action URI, body, shell id for the header) of one request."""
        if req.resource_uri != wsman.CMD_URI:
            raise wsman.destination_unreachable()
        if req.action == "Create":
            return self._create(req, principal)
        shell = self._shell(req, principal)
        op = {
            "Command": self._command,
            "Receive": self._receive,
            "Signal": self._signal,
            "Delete": self._delete,
        }.get(req.action)
        if op is None:
            raise wsman.action_not_supported()
        return op(req, shell, principal)

    def _shell(self, req, principal):
        shell_id = req.selectors.get("ShellId", "")
        with self.lock:
            shell = self.shells.get(shell_id)
        if shell is None or shell["owner"] != principal:
            raise wsman.invalid_selectors("ShellId %s" % shell_id)
        return shell

    def _create(self, req, principal):
        shell_id = str(uuid.uuid4()).upper()
        with self.lock:
            self.shells[shell_id] = {"id": shell_id, "owner": principal, "commands": {}}
        body = (
            "<x:ResourceCreated><a:Address>http://%s:5985/wsman</a:Address>"
            "<a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI><w:SelectorSet>"
            '<w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            "</x:ResourceCreated><rsp:Shell><rsp:ShellId>%s</rsp:ShellId>"
            "<rsp:ResourceUri>%s</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner>"
            "<rsp:InputStreams>stdin</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
            % (
                escape(self.machine),
                wsman.CMD_URI,
                shell_id,
                shell_id,
                wsman.CMD_URI,
                escape(self.user_of(principal)),
            )
        )
        return wsman.TRANSFER + "CreateResponse", body, None

    def _command(self, req, shell, principal):
        line = req.find("rsp:CommandLine")
        if line is None:
            raise wsman.invalid_message()
        command = (line.findtext("rsp:Command", "", NS) or "").strip()
        # WinRS hands CreateProcess one command line: Command, then each Arguments, spaced.
        args = [a.text or "" for a in line.findall("rsp:Arguments", NS)]
        argv = _split(" ".join([command, *args]))
        if not argv:
            raise wsman.invalid_message()
        context = {"user": self.user_of(principal), "machine": self.machine}
        script = _powershell_script(argv)
        if script is not None:
            self.record({"powershell": script, "principal": principal})
            argv, context["script"] = ["powershell"], script
        cmd = Command(argv, context, self.sandbox)
        shell["commands"][cmd.id] = cmd
        body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>"
        return SHELL + "CommandResponse", body % cmd.id, None

    def _find_command(self, shell, command_id):
        cmd = shell["commands"].get(command_id or "")
        if cmd is None:
            raise wsman.invalid_selectors("CommandId %s" % command_id)
        return cmd

    def _receive(self, req, shell, principal):
        desired = req.find("rsp:Receive/rsp:DesiredStream")
        cmd = self._find_command(shell, desired.get("CommandId") if desired is not None else None)
        stdout, stderr, done = cmd.receive(req.timeout)
        cid = cmd.id
        parts = ["<rsp:ReceiveResponse>"]
        for name, data in (("stdout", stdout), ("stderr", stderr)):
            if data:
                parts.append(
                    '<rsp:Stream Name="%s" CommandId="%s">%s</rsp:Stream>'
                    % (name, cid, base64.b64encode(data).decode())
                )
            if done:
                parts.append('<rsp:Stream Name="%s" CommandId="%s" End="true"/>' % (name, cid))
        if done:
            parts.append(
                '<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>%d</rsp:ExitCode>'
                "</rsp:CommandState>" % (cid, DONE, cmd.exit_code())
            )
        else:
            parts.append('<rsp:CommandState CommandId="%s" State="%s"/>' % (cid, RUNNING))
        parts.append("</rsp:ReceiveResponse>")
        return SHELL + "ReceiveResponse", "".join(parts), None

    def _signal(self, req, shell, principal):
        node = req.find("rsp:Signal")
        cmd = self._find_command(shell, node.get("CommandId") if node is not None else None)
        cmd.signal(node.findtext("rsp:Code", "", NS).strip())
        return SHELL + "SignalResponse", "<rsp:SignalResponse/>", None

    def _delete(self, req, shell, principal):
        with self.lock:
            self.shells.pop(shell["id"], None)
        for cmd in shell["commands"].values():
            cmd.signal("terminate")
        return wsman.TRANSFER + "DeleteResponse", "", None

    def close(self):
        with self.lock:
            shells = list(self.shells.values())
            self.shells.clear()
        for shell in shells:
            for cmd in shell["commands"].values():
                cmd.signal("terminate")


def _split(command):
    try:
        return shlex.split(command, posix=False)
    except ValueError as err:
        raise wsman.invalid_message() from err


def _powershell_script(argv):
    """The decoded script of `powershell … -EncodedCommand <base64 UTF-16LE>`, else None."""
    if os.path.basename(argv[0]).lower() not in ("powershell", "powershell.exe"):
        return None
    for i, arg in enumerate(argv[:-1]):
        if arg.lower() in ("-encodedcommand", "-enc", "-e", "-ec"):
            try:
                return base64.b64decode(argv[i + 1], validate=True).decode("utf-16-le")
            except ValueError as err:
                raise wsman.invalid_message() from err
    return None
