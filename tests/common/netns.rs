//! Network namespaces the tests make and delete: two "hosts" joined by a veth pair. Nothing
//! sent inside them leaves this machine. Needs root; without it a test is skipped, unless
//! CTYS_REQUIRE_PRIVILEGED=1 (CI), where a skip is a failure.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Whether privileged tests can run here; panics under CTYS_REQUIRE_PRIVILEGED=1 when not.
pub fn privileged(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let why = format!("{test}: skipped: network namespaces need root");
    assert!(std::env::var("CTYS_REQUIRE_PRIVILEGED").as_deref() != Ok("1"), "{why} (CTYS_REQUIRE_PRIVILEGED=1)");
    eprintln!("{why}");
    false
}

pub fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Two namespaces `<tag>a` and `<tag>b`, with `va` (02:00:00:00:00:0a, 10.99.0.1/24) in the
/// first and `vb` (02:00:00:00:00:0b, no address unless given) in the second.
pub struct Pair {
    pub a: String,
    pub b: String,
}

pub const MAC_A: &str = "02:00:00:00:00:0a";
pub const MAC_B: &str = "02:00:00:00:00:0b";

impl Pair {
    pub fn new(b_addr: Option<&str>) -> Pair {
        static N: AtomicUsize = AtomicUsize::new(0);
        let tag = format!("ctys{}x{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let p = Pair { a: format!("{tag}a"), b: format!("{tag}b") };
        sh(&["ip", "netns", "add", &p.a]);
        sh(&["ip", "netns", "add", &p.b]);
        sh(&["ip", "link", "add", "va", "netns", &p.a, "type", "veth", "peer", "name", "vb", "netns", &p.b]);
        for (ns, dev, mac) in [(&p.a, "va", MAC_A), (&p.b, "vb", MAC_B)] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            sh(&["ip", "-n", ns, "link", "set", dev, "address", mac, "up"]);
        }
        sh(&["ip", "-n", &p.a, "addr", "add", "10.99.0.1/24", "dev", "va"]);
        if let Some(a) = b_addr {
            p.addr_b(a);
        }
        p
    }

    pub fn addr_b(&self, cidr: &str) {
        sh(&["ip", "-n", &self.b, "addr", "add", cidr, "dev", "vb"]);
    }

    /// A command run inside namespace `ns`.
    pub fn cmd(ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            // Whatever a test left running in there goes first, then the namespace (and its veth).
            kill_all_in(ns);
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// One more namespace, deleted (with what runs in it) when dropped.
pub struct Ns(pub String);

impl Ns {
    pub fn new(tag: &str) -> Ns {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("ctys{}{tag}{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Ns(name)
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        kill_all_in(&self.0);
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn kill_all_in(ns: &str) {
    if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// tcpdump writing a pcap file inside a namespace; ready once it is listening.
pub struct Capture {
    child: Child,
    file: std::path::PathBuf,
}

impl Capture {
    pub fn start(ns: &str, dev: &str, file: &Path, filter: &str) -> Capture {
        let mut child = Pair::cmd(ns, "tcpdump")
            .args(["-i", dev, "-U", "-n", "-w"])
            .arg(file)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump is needed (package tcpdump)");
        wait_listening(&mut child);
        Capture { child, file: file.to_path_buf() }
    }

    /// Waits until `n` frames are on file (or 5 s pass), stops tcpdump, returns the frames.
    pub fn frames(mut self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while read_pcap(&self.file).len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        read_pcap(&self.file)
    }
}

/// Reads tcpdump's stderr until it says it is listening, then drains the rest in the background.
pub fn wait_listening(child: &mut Child) {
    let mut err = BufReader::new(child.stderr.take().expect("tcpdump's stderr piped"));
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "tcpdump ended before listening");
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
}

/// The frames of a pcap file (little-endian, as tcpdump writes on x86).
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_default();
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        if off + 16 + incl > data.len() {
            break;
        }
        frames.push(data[off + 16..off + 16 + incl].to_vec());
        off += 16 + incl;
    }
    frames
}

/// The UDP payload, destination IP and destination port of an Ethernet/IPv4/UDP frame.
pub fn udp_parts(frame: &[u8]) -> (Vec<u8>, [u8; 4], u16) {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "not IPv4");
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let udp = 14 + ihl;
    let dst: [u8; 4] = frame[30..34].try_into().unwrap();
    (frame[udp + 8..].to_vec(), dst, u16::from_be_bytes([frame[udp + 2], frame[udp + 3]]))
}
