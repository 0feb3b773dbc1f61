# Shared by benchmarks: a private sshd on 127.0.0.2..127.0.0.(N+1) (16 addresses per sshd
# process, sshd's limit), key-only, with a client config every peer can use.
# Source it, then: lab_sshd_start N; ... lab_sshd_stop. Sets LAB_DIR, LAB_PORT, LAB_CFG, LAB_HOME.
lab_sshd_start() {
  local n=$1 i k addr
  LAB_DIR=$(mktemp -d /tmp/ctys-bench-sshd.XXXXXX)
  LAB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  LAB_HOME=$LAB_DIR/home
  LAB_CFG=$LAB_HOME/.ssh/config
  mkdir -p "$LAB_HOME/.ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$LAB_DIR/host_key"
  ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$LAB_HOME/.ssh/id_ed25519"
  cp "$LAB_HOME/.ssh/id_ed25519.pub" "$LAB_DIR/authorized_keys"
  : > "$LAB_HOME/.ssh/known_hosts"
  for ((k = 0; k * 16 < n; k++)); do
    {
      for ((i = k * 16; i < n && i < (k + 1) * 16; i++)); do echo "ListenAddress 127.0.0.$((i + 2)):$LAB_PORT"; done
      cat <<CONF
HostKey $LAB_DIR/host_key
PidFile $LAB_DIR/sshd.$k.pid
AuthorizedKeysFile $LAB_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxSessions 100
UseDNS no
PrintMotd no
PrintLastLog no
SetEnv SHLVL=1
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ERROR
CONF
    } > "$LAB_DIR/sshd_config.$k"
    /usr/sbin/sshd -f "$LAB_DIR/sshd_config.$k" -E "$LAB_DIR/sshd.$k.log"
  done
  for ((i = 0; i < n; i++)); do
    addr=127.0.0.$((i + 2))
    echo "[$addr]:$LAB_PORT $(cut -d' ' -f1,2 "$LAB_DIR/host_key.pub")" >> "$LAB_HOME/.ssh/known_hosts"
  done
  cat > "$LAB_CFG" <<CFG
Host 127.0.0.*
    Port $LAB_PORT
    User $(id -un)
    IdentityFile $LAB_HOME/.ssh/id_ed25519
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $LAB_HOME/.ssh/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 10
    LogLevel ERROR
CFG
  for ((i = 0; i < 50; i++)); do
    ssh -F "$LAB_CFG" "127.0.0.$((n + 1))" true 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: the private sshd did not come up; see $LAB_DIR/*.log" >&2
  return 2
}

lab_sshd_stop() {
  local f
  for f in "$LAB_DIR"/sshd.*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  rm -rf "$LAB_DIR"
}
