"""A stand-in PowerShell for the WinRM double: no PowerShell exists for this host, so the
script that `powershell -EncodedCommand` carries (decoded, and recorded by the double for
tests) runs through this small interpreter, one statement per line or `;`:

  Write-Output / Write-Host / echo ARGS   ARGS to stdout ('…', "…" with $env: expanded, words)
  Write-Error MSG                         MSG to stderr as PowerShell's CLIXML error stream
  throw MSG                               the same, and the script stops (exit code 1)
  Get-Date                                the local time, ISO 8601
  whoami / hostname                       the mapped user / the machine name
  $env:USERNAME / $env:COMPUTERNAME       the user (without domain) / the machine name
  exit N                                  exit code N

Any other cmdlet is "not recognized" (a CLIXML error). Exit code: N of `exit N`, else 1 when
an error was written, else 0 — what powershell.exe -EncodedCommand returns.
"""

import datetime
import re
import sys
from xml.sax.saxutils import escape

_TOKEN = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"`]|`.)*)\"|(\S+)")


def _env(ctx):
    return {
        "username": ctx["user"].split("\\")[-1],
        "computername": ctx["machine"].upper(),
        "userdomain": ctx["user"].split("\\")[0].upper(),
    }


def _expand(text, ctx):
    env = _env(ctx)
    return re.sub(r"\$env:(\w+)", lambda m: env.get(m.group(1).lower(), ""), text, flags=re.I)


def _args(rest, ctx):
    out = []
    for m in _TOKEN.finditer(rest):
        if m.group(1) is not None:
            out.append(m.group(1).replace("''", "'"))
        else:
            out.append(_expand(m.group(2) if m.group(2) is not None else m.group(3), ctx))
    return out


class Errors:
    """PowerShell's error stream on stderr: one CLIXML document, closed at the end."""

    def __init__(self):
        self.count = 0

    def write(self, message):
        if self.count == 0:
            sys.stderr.write(
                '#< CLIXML\r\n<Objs Version="1.1.0.1" '
                'xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            )
        self.count += 1
        text = escape(message).replace("\n", "_x000A_") + "_x000D__x000A_"
        sys.stderr.write('<S S="Error">%s</S>' % text)
        sys.stderr.flush()

    def close(self):
        if self.count:
            sys.stderr.write("</Objs>")
            sys.stderr.flush()


def _statements(script):
    for line in script.replace("\r\n", "\n").split("\n"):
        for stmt in line.split(";"):
            stmt = stmt.strip()
            if stmt and not stmt.startswith("#"):
                yield stmt


def run_script(script, ctx):
    errors = Errors()
    try:
        return _run(script, ctx, errors)
    finally:
        errors.close()


def _run(script, ctx, errors):
    for stmt in _statements(script):
        verb, _, rest = stmt.partition(" ")
        name = verb.lower()
        if name in ("write-output", "write-host", "echo"):
            print(" ".join(_args(rest, ctx)), flush=True)
        elif stmt.startswith(("'", '"', "$env:")):
            print(" ".join(_args(stmt, ctx)), flush=True)
        elif name == "write-error":
            errors.write(" ".join(_args(rest, ctx)))
        elif name == "throw":
            errors.write(" ".join(_args(rest, ctx)))
            return 1
        elif name == "get-date":
            print(datetime.datetime.now().astimezone().isoformat(timespec="seconds"), flush=True)
        elif name == "whoami":
            print(ctx["user"], flush=True)
        elif name == "hostname":
            print(ctx["machine"], flush=True)
        elif name == "exit":
            value = rest.strip() or "0"
            return int(value) if value.lstrip("-").isdigit() else 0
        else:
            errors.write(
                "%s : The term '%s' is not recognized as the name of a cmdlet, function,"
                " script file, or operable program." % (verb, verb)
            )
    return 1 if errors.count else 0
