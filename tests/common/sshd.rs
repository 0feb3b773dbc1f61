//! A private OpenSSH sshd for tests: its own host key, key-only login with a fresh client key,
//! listening on 127.0.0.x addresses only (16 per sshd process, so several processes for more).
//! The client side is a scratch HOME whose ~/.ssh holds the key and a known_hosts file.
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

pub struct Sshd {
    pub dir: TempDir,
    pub home: TempDir,
    pub port: u16,
    pub addrs: Vec<String>,
    children: Vec<Child>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (openssh-server and openssh-client are needed)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn keygen(path: &Path, comment: &str) {
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"]).arg(path));
}

/// A port that is free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Sshd {
    /// Starts sshd on 127.0.0.`first` .. 127.0.0.`first + n - 1`, all on one port.
    pub fn start(first: u8, n: u8) -> Sshd {
        let addrs: Vec<String> = (0..n).map(|i| format!("127.0.0.{}", first + i)).collect();
        Sshd::start_at(addrs, free_port(), None)
    }

    /// Starts sshd on the given addresses and port, inside a network namespace if given.
    pub fn start_at(addrs: Vec<String>, port: u16, netns: Option<&str>) -> Sshd {
        Sshd::start_full(addrs, port, netns, "")
    }

    /// `start`, with more `NAME=value` words for the sessions' environment (sshd's SetEnv).
    pub fn start_env(first: u8, n: u8, env: &str) -> Sshd {
        let addrs: Vec<String> = (0..n).map(|i| format!("127.0.0.{}", first + i)).collect();
        Sshd::start_full(addrs, free_port(), None, env)
    }

    /// `start_at` with more `NAME=value` words for the sessions' environment (sshd's SetEnv).
    pub fn start_full(addrs: Vec<String>, port: u16, netns: Option<&str>, env: &str) -> Sshd {
        let dir = TempDir::new("sshd");
        let home = TempDir::new("sshhome");
        let d = dir.path();
        keygen(&d.join("host_key"), "ctys-test-host");
        std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
        let id = home.path().join(".ssh/id_ed25519");
        keygen(&id, "ctys-test-client");
        std::fs::copy(id.with_extension("pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").ok(); // Debian's sshd needs its privilege-separation dir
        let mut children = Vec::new();
        for (k, chunk) in addrs.chunks(16).enumerate() {
            let listen: String = chunk.iter().map(|a| format!("ListenAddress {a}:{port}\n")).collect();
            let conf = d.join(format!("sshd_config.{k}"));
            std::fs::write(
                &conf,
                format!(
                    "{listen}HostKey {d}/host_key\nPidFile {d}/sshd.{k}.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                     PermitRootLogin prohibit-password\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nMaxStartups 200:30:400\n\
                     MaxSessions 100\nMaxAuthTries 6\nUseDNS no\nPrintMotd no\nPrintLastLog no\nX11Forwarding no\n\
                     SetEnv SHLVL=1 {env}\nSubsystem sftp /usr/lib/openssh/sftp-server\nLogLevel INFO\n",
                    d = d.display()
                ),
            )
            .unwrap();
            let mut cmd = match netns {
                Some(ns) => super::netns::Pair::cmd(ns, "/usr/sbin/sshd"),
                None => Command::new("/usr/sbin/sshd"),
            };
            let child = cmd
                .args(["-D", "-e", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(std::fs::File::create(d.join(format!("sshd.{k}.log"))).unwrap()))
                .spawn()
                .expect("cannot start /usr/sbin/sshd (package openssh-server)");
            children.push(child);
        }
        let s = Sshd { dir, home, port, addrs, children };
        s.wait_listening(netns);
        s.write_known_hosts(&s.addrs.iter().map(|a| s.known_line(a)).collect::<Vec<_>>().join(""));
        s
    }

    fn wait_listening(&self, netns: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for a in &self.addrs {
            let sa: SocketAddr = format!("{a}:{}", self.port).parse().unwrap();
            // Inside a namespace the sshd's pid file says it is ready (its addresses are not ours).
            let ready = || match netns {
                Some(_) => self.dir.path().join("sshd.0.pid").exists(),
                None => TcpStream::connect_timeout(&sa, Duration::from_millis(200)).is_ok(),
            };
            while !ready() {
                assert!(Instant::now() < deadline, "sshd does not listen on {sa}; log: {}", self.log());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn log(&self) -> String {
        (0..self.children.len()).map(|k| std::fs::read_to_string(self.dir.path().join(format!("sshd.{k}.log"))).unwrap_or_default()).collect()
    }

    /// `type base64` of the host key.
    pub fn host_key(&self) -> String {
        let pubkey = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        pubkey.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }

    /// The host key's fingerprint as ssh-keygen prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen").arg("-lf").arg(self.dir.path().join("host_key.pub")).output().unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).unwrap().to_string()
    }

    /// A known_hosts line for one address of this sshd.
    pub fn known_line(&self, addr: &str) -> String {
        let name = if self.port == 22 { addr.to_string() } else { format!("[{addr}]:{}", self.port) };
        format!("{name} {}\n", self.host_key())
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.home.path().join(".ssh/known_hosts")
    }

    pub fn write_known_hosts(&self, text: &str) {
        std::fs::write(self.known_hosts(), text).unwrap();
    }

    /// `addr:port` for the i-th address.
    /// The pids of the listening sshd processes (each connection is a child of one).
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// How many logins the sshds have accepted (LogLevel INFO logs each).
    pub fn logins(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }

    pub fn target(&self, i: usize) -> String {
        format!("{}:{}", self.addrs[i], self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
