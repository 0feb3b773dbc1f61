//! Shared by the integration tests: run the real binaries in a scratch HOME, so a developer's
//! ~/.ctys never leaks into a result.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod bmc;
pub mod guest;
pub mod lab;
pub mod netns;
pub mod redfish;
pub mod sshd;
pub mod tmux;
pub mod udp_proxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!("ctys-test-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A command for one of the package's binaries, run from the source tree with HOME set to
/// `home`, CTYS_LUA_PATH cleared and name lookups forbidden.
pub fn bin(name: &str, home: &Path) -> Command {
    bin_in(None, name, home)
}

/// `bin`, run inside a network namespace when `netns` is given.
pub fn bin_in(netns: Option<&str>, name: &str, home: &Path) -> Command {
    let exe = match name {
        "ctys" => env!("CARGO_BIN_EXE_ctys"),
        "ctys-vnetctl" => env!("CARGO_BIN_EXE_ctys-vnetctl"),
        "ctys-wakeup" => env!("CARGO_BIN_EXE_ctys-wakeup"),
        "ctys-ipmi" => env!("CARGO_BIN_EXE_ctys-ipmi"),
        "ctys-bmc" => env!("CARGO_BIN_EXE_ctys-bmc"),
        "ctys-macros" => env!("CARGO_BIN_EXE_ctys-macros"),
        "ctys-groups" => env!("CARGO_BIN_EXE_ctys-groups"),
        "ctys-plugins" => env!("CARGO_BIN_EXE_ctys-plugins"),
        "ctys-exec" => env!("CARGO_BIN_EXE_ctys-exec"),
        "ctys-distribute" => env!("CARGO_BIN_EXE_ctys-distribute"),
        "ctys-machines" => env!("CARGO_BIN_EXE_ctys-machines"),
        "ctys-vping" => env!("CARGO_BIN_EXE_ctys-vping"),
        other => panic!("no binary {other}"),
    };
    let mut c = match netns {
        Some(ns) => netns::Pair::cmd(ns, exe),
        None => Command::new(exe),
    };
    // CTYS_NO_DNS: no test may resolve a name through DNS; a slip fails instead of leaking.
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home)
        .env("CTYS_NO_DNS", "1")
        .env_remove("CTYS_LUA_PATH")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("RUST_LOG");
    c
}

/// Runs `ctys ARGS...` and returns (exit code, stdout, stderr).
pub fn ctys(home: &Path, args: &[&str]) -> (i32, String, String) {
    split(bin("ctys", home).args(args).output().unwrap())
}

pub fn split(o: Output) -> (i32, String, String) {
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Polls `f` every 20 ms until it holds; panics naming `what` after `secs` seconds. The one way
/// tests wait for something to happen (never a bare sleep).
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process whose command line contains `pattern` runs (pgrep -f).
pub fn running(pattern: &str) -> usize {
    let out = Command::new("pgrep").args(["-f", pattern]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}
