#!/usr/bin/env bash
# A real OpenSSH sshd for the SSH transport tests: user-certificate auth only, on 127.0.0.1.
# Based on the sshd part of /work/shared/notes/snippets/start-peers.sh.
#
#   W=/tmp/dir SSH_PORT=3222 bash test/peers/sshd.sh start    # background sshd, pid in $W/sshd.pid
#   W=/tmp/dir bash test/peers/sshd.sh stop
#
# In $W: ca.pub (TrustedUserCAKeys; sshd re-reads it on every auth, so it can change while
# running; created empty if missing), principals/<user> (AuthorizedPrincipalsFile, one
# principal a line), host_ed25519 (generated if missing), sshd_config, sshd.log.
# As root it logs users in as themselves, root included (certificates only); as another
# user it can only log that user in. Installs openssh-server when missing and run as root.
set -euo pipefail

SSHD=/usr/sbin/sshd
W=${W:?W must name the work directory}

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1 # sshd died (e.g. the port was taken)
    sleep 0.05
  done
  return 1
}

start() {
  local port=${SSH_PORT:?SSH_PORT must name the port}
  if [ ! -x "$SSHD" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "sshd.sh: $SSHD missing; as root: apt-get install -y --no-install-recommends openssh-server" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends openssh-server >&2 ||
      { apt-get update >&2 && apt-get install -y --no-install-recommends openssh-server >&2; }
  fi
  # Root's sshd insists on its privilege separation directory (compiled in).
  if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
  mkdir -p "$W/principals"
  [ -f "$W/ca.pub" ] || : >"$W/ca.pub"
  [ -f "$W/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bastion-test-host -f "$W/host_ed25519"

  cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $W/host_ed25519
PidFile none
TrustedUserCAKeys $W/ca.pub
AuthorizedPrincipalsFile $W/principals/%u
AuthorizedKeysFile none
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
LogLevel VERBOSE
EOF
  # OpenSSH >= 9.8 penalises sources that fail auth; the tests fail auth on purpose.
  if "$SSHD" -t -f "$W/sshd_config" -o PerSourcePenalties=no 2>/dev/null; then
    echo 'PerSourcePenalties no' >>"$W/sshd_config"
  fi
  "$SSHD" -t -f "$W/sshd_config"
  "$SSHD" -f "$W/sshd_config" -D -E "$W/sshd.log" </dev/null >/dev/null 2>&1 &
  local pid=$!
  echo "$pid" >"$W/sshd.pid"
  if ! wait_port "$port" "$pid"; then
    echo "sshd.sh: sshd did not listen on 127.0.0.1:$port" >&2
    tail -n 20 "$W/sshd.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$W/sshd.pid"
    exit 1
  fi
}

stop() {
  [ -f "$W/sshd.pid" ] || return 0
  local pid
  pid=$(cat "$W/sshd.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  rm -f "$W/sshd.pid"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
  echo "usage: W=DIR SSH_PORT=PORT $0 start|stop" >&2
  exit 2
  ;;
esac
