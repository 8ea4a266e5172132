"""The commands of the WinRM double: one local process per WinRS command, started by
shell.py in the sandbox directory with only WINRS_CONTEXT (the mapped user, the machine
name, a decoded PowerShell script) in its environment. Stand-ins, not Windows binaries:

  whoami                       the authenticated Kerberos principal's mapped user (bastion\\alice)
  hostname                     the machine name (win1)
  echo WORDS…                  the words
  cmd /c LINE                  LINE as a command; `exit N` ends with exit code N
  ping -t HOST                 one reply line, then runs until signalled (ctrl_c or terminate)
  powershell -EncodedCommand   the stand-in interpreter below (powershell.py)

Anything else is "not recognized" on stderr with exit code 1, as cmd.exe says it.
"""

import json
import os
import sys

from powershell import run_script


def run(argv, ctx):
    name = argv[0].lower().removesuffix(".exe")
    args = argv[1:]
    if name == "whoami":
        print(ctx["user"])
        return 0
    if name == "hostname":
        print(ctx["machine"])
        return 0
    if name == "echo":
        print(" ".join(args))
        return 0
    if name == "cmd" and args and args[0].lower() == "/c":
        line = " ".join(args[1:]).split()
        if line and line[0].lower() == "exit":
            return int(line[1]) if len(line) > 1 and line[1].lstrip("-").isdigit() else 0
        return run(line, ctx) if line else 0
    if name == "ping" and "-t" in args:
        print("Reply from %s: bytes=32 time<1ms TTL=128" % args[-1], flush=True)
        try:
            sys.stdin.read()  # until a signal ends it (stdin stays open: no Send here)
        except KeyboardInterrupt:
            print("Control-C", flush=True)
            raise
        return 0
    if name == "powershell":
        return run_script(ctx["script"], ctx)
    sys.stderr.write(
        "'%s' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n" % argv[0]
    )
    return 1


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1]), json.loads(os.environ["WINRS_CONTEXT"])))
