//! Remote execution over SSH (ssh2/libssh2), with OpenSSH's discipline: host keys checked
//! against known_hosts (revoked keys refused), keys from the agent and identity files, never a
//! prompt, a timeout on every wait, and fan-out over many hosts with one session per host per
//! thread (a libssh2 session is one lock).
pub mod config;
pub mod console;
pub mod broadcast;
pub mod copy;
pub mod fanout;
pub mod gateway;
pub mod known_hosts;
pub mod pool;
pub mod serve;
mod session;
pub mod tree;

use std::path::PathBuf;
use std::time::Duration;

pub use session::{connect, Conn, PidLine};

/// How an unknown or changed host key is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyMode {
    /// Unknown and changed keys are refused (the default).
    Strict,
    /// Unknown keys are added to the known_hosts file; changed keys are refused.
    AcceptNew,
    /// Nothing is checked (only when asked for explicitly).
    Off,
}

impl HostKeyMode {
    /// Reads a mode the way ctys and ssh_config spell it.
    pub fn parse(s: &str) -> Option<HostKeyMode> {
        match s.to_ascii_lowercase().as_str() {
            "strict" | "yes" | "ask" => Some(HostKeyMode::Strict),
            "accept-new" => Some(HostKeyMode::AcceptNew),
            "off" | "no" => Some(HostKeyMode::Off),
            _ => None,
        }
    }
}

/// Everything needed to reach one host, resolved from the target, the caller's options and
/// ssh_config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The host as the caller named it (messages and results use it).
    pub label: String,
    pub user: String,
    /// Where to connect (after ssh_config's HostName).
    pub host: String,
    pub port: u16,
    /// Identity files tried after the agent, in order.
    pub identities: Vec<PathBuf>,
    pub use_agent: bool,
    /// known_hosts files; accept-new writes to the first.
    pub known_hosts: Vec<PathBuf>,
    pub host_key_mode: HostKeyMode,
    /// Bounds TCP connect, the SSH handshake and authentication together.
    pub connect_timeout: Duration,
    pub keepalive: Option<Duration>,
}

/// One command to run.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: String,
    pub stdin: Vec<u8>,
    /// This process's stdin, streamed to the command instead of `stdin` as it arrives (every
    /// host of a fan-out reads the same; see broadcast.rs).
    pub stdin_feed: Option<std::sync::Arc<broadcast::Broadcast>>,
    pub env: Vec<(String, String)>,
    /// Run under a pseudo-terminal (stdout and stderr then arrive merged on stdout).
    pub pty: bool,
    /// After this the remote process group gets SIGTERM and the host fails.
    pub timeout: Option<Duration>,
    /// The most bytes of output (stdout and stderr together) kept; past it the command is
    /// ended and the host fails with kind toolarge (None: DEFAULT_MAX_OUTPUT).
    pub max_output: Option<usize>,
    /// A new connection, neither taken from the pool nor kept in it (is SSH answering now?).
    pub fresh: bool,
    /// Stdout goes to the sink only, not into the result (a gateway's stream of frames, which
    /// the caller consumes as it comes; max_output then bounds stderr alone).
    pub sink_stdout_only: bool,
}

/// The most output one command's result holds unless asked otherwise (64 MiB).
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// Which output stream bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a command left behind, also when it failed part-way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Exit status, when the command exited.
    pub status: Option<i32>,
    /// Signal name (`TERM`, `KILL`, ...), when a signal ended it.
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

pub use super::failure::{Failure as RemoteError, Kind as ErrorKind};

/// One host's result: what ran and, if it failed to run to its end, why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostResult {
    pub outcome: Outcome,
    pub error: Option<RemoteError>,
    /// Whether the command started (a failure before it did may be retried elsewhere).
    pub started: bool,
    /// A copy's result (tree.rs runs copies and commands alike).
    pub copied: Option<copy::Copied>,
}

/// The caller's explicit choices; each beats ssh_config, which beats the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub host_key_mode: Option<HostKeyMode>,
    pub connect_timeout: Option<Duration>,
}

/// A target as the ctys grammar gives it: `[user@]host[:port]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// The target as it was given (`root@lab01:2222`, `[::1]:22`): how results and messages
    /// name it, so two hosts on one address stay apart.
    pub fn label(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{user}{host}{port}")
    }
}

/// The environment resolution reads: home directory, local user, agent socket.
#[derive(Debug, Clone)]
pub struct Env {
    pub home: String,
    pub local_user: String,
    pub agent: bool,
}

impl Env {
    pub fn from_process() -> Env {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
        let local_user = std::env::var("USER")
            .ok()
            .or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
            .unwrap_or_else(|| "root".into());
        Env { home, local_user, agent: std::env::var_os("SSH_AUTH_SOCK").is_some() }
    }
}

/// The default connect timeout (TCP, handshake and authentication together).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes an ssh_config or known_hosts file may have (a link to /dev/zero is an error).
pub const MAX_FILE: u64 = 16 << 20;

/// Resolves one target: target fields beat overrides (`user@host` beats `-l user`), which beat
/// ssh_config, which beats the defaults (port 22, the local user, ~/.ssh/id_{ed25519,ecdsa,rsa},
/// ~/.ssh/known_hosts then /etc/ssh/ssh_known_hosts, strict host keys).
pub fn resolve(t: &Target, o: &Overrides, cfg: &config::SshConfig, env: &Env) -> Result<Settings, RemoteError> {
    let hc = cfg.lookup(&t.host).map_err(|e| RemoteError::new(ErrorKind::Resolve, e))?;
    let host = hc.hostname.as_deref().map_or(t.host.clone(), |h| h.replace("%h", &t.host));
    let user = t.user.clone().or_else(|| o.user.clone()).or(hc.user).unwrap_or_else(|| env.local_user.clone());
    let port = t.port.or(o.port).or(hc.port).unwrap_or(22);
    let expand = |p: &str| PathBuf::from(config::expand_path(p, &env.home, &env.local_user, &host, &user));
    let mut identities: Vec<PathBuf> = o.identity.iter().cloned().collect();
    identities.extend(hc.identity_files.iter().map(|p| expand(p)));
    if identities.is_empty() {
        identities = ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|k| PathBuf::from(&env.home).join(".ssh").join(k)).collect();
    }
    let mut known_hosts: Vec<PathBuf> = match (&o.known_hosts, &hc.known_hosts) {
        (Some(p), _) => vec![p.clone()],
        (None, Some(list)) => list.iter().map(|p| expand(p)).collect(),
        (None, None) => vec![PathBuf::from(&env.home).join(".ssh/known_hosts")],
    };
    known_hosts.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
    let host_key_mode = match (o.host_key_mode, hc.strict.as_deref()) {
        (Some(m), _) => m,
        (None, Some(s)) => HostKeyMode::parse(s).ok_or_else(|| {
            RemoteError::new(ErrorKind::Resolve, format!("ssh config: bad StrictHostKeyChecking value '{s}' for host {}", t.host))
        })?,
        (None, None) => HostKeyMode::Strict,
    };
    let use_agent = env.agent && hc.identity_agent.as_deref() != Some("none") && hc.identities_only != Some(true);
    Ok(Settings {
        label: t.label(),
        user,
        host,
        port,
        identities,
        use_agent,
        known_hosts,
        host_key_mode,
        connect_timeout: o.connect_timeout.or(hc.connect_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        keepalive: hc.server_alive_interval.filter(|s| *s > 0).map(|s| Duration::from_secs(s.into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_order() {
        let cfg = config::SshConfig::parse(
            "Host lab1\n HostName 127.0.0.3\n User cfguser\n Port 2201\n IdentityFile ~/k1\n StrictHostKeyChecking accept-new\n ConnectTimeout 3\n",
            "t",
        )
        .unwrap();
        let env = Env { home: "/h".into(), local_user: "me".into(), agent: true };
        let t = Target { user: None, host: "lab1".into(), port: None };
        let s = resolve(&t, &Overrides::default(), &cfg, &env).unwrap();
        assert_eq!((s.label.as_str(), s.host.as_str(), s.user.as_str(), s.port), ("lab1", "127.0.0.3", "cfguser", 2201));
        assert_eq!(s.identities, vec![PathBuf::from("/h/k1")]);
        assert_eq!(s.host_key_mode, HostKeyMode::AcceptNew);
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
        assert_eq!(s.known_hosts, vec![PathBuf::from("/h/.ssh/known_hosts"), PathBuf::from("/etc/ssh/ssh_known_hosts")]);
        assert!(s.use_agent);

        let o = Overrides { user: Some("ouser".into()), port: Some(2202), host_key_mode: Some(HostKeyMode::Strict), ..Default::default() };
        let s = resolve(&t, &o, &cfg, &env).unwrap();
        assert_eq!((s.user.as_str(), s.port, s.host_key_mode), ("ouser", 2202, HostKeyMode::Strict));

        let t = Target { user: Some("tuser".into()), host: "other".into(), port: Some(2203) };
        let s = resolve(&t, &o, &cfg, &env).unwrap();
        assert_eq!((s.user.as_str(), s.host.as_str(), s.port), ("tuser", "other", 2203));
        assert_eq!(s.identities.len(), 3, "default identity files");
    }
}
