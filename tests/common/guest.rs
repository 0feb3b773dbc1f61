//! The QEMU test guest (lua/ctys/tools/lab/guest.sh, the lab's too): built once into
//! target/guest, then booted through `ctys.qemu.start` under TCG. A `Guests` directory kills
//! whatever QEMU it still holds when dropped, so a failed test leaves no guest running.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{bin, split, TempDir};

/// The kernel and initramfs, built on first use.
pub fn image() -> &'static (PathBuf, PathBuf) {
    static IMAGE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/guest");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lua/ctys/tools/lab/guest.sh");
        let o = Command::new("sh").arg(&script).arg(&out).output().unwrap();
        assert!(o.status.success(), "guest.sh: {}", String::from_utf8_lossy(&o.stderr));
        (out.join("vmlinuz"), out.join("initrd.gz"))
    })
}

/// A socket base of its own (CTYS_SOCKBASE) with the guests started there.
pub struct Guests {
    pub base: TempDir,
}

impl Guests {
    pub fn new() -> Guests {
        Guests { base: TempDir::new("qemu") }
    }

    /// The guests' directory (`ctys.qemu.dir`).
    pub fn dir(&self) -> PathBuf {
        self.base.path().join("qemu.root")
    }

    /// A `ctys` run with this socket base.
    pub fn ctys(&self, args: &[&str]) -> Command {
        let mut c = bin("ctys", self.base.path());
        c.env("CTYS_SOCKBASE", self.base.path()).args(args);
        c
    }

    /// Starts guest `name` (kernel command line `append` added), on `switch` if given; panics
    /// when it does not start.
    pub fn start(&self, name: &str, switch: Option<&Path>, append: &str) {
        let (k, i) = image();
        let sw = switch.map_or("nil".to_string(), |s| format!("{:?}", s.display().to_string()));
        let chunk = format!(
            "ctys.err.must(ctys.qemu.start{{ name = {name:?}, switch = {sw}, kernel = {k:?}, initrd = {i:?}, accel = 'tcg', memory = 128, \
             append = 'console=ttyS0 quiet panic=-1 ctys.name={name} {append}' }})",
            k = k.display().to_string(),
            i = i.display().to_string()
        );
        let (code, out, err) = split(self.ctys(&["-e", &chunk]).output().unwrap());
        assert_eq!(code, 0, "start {name}: {out}{err}");
    }

    /// What guest `name` wrote on its serial console.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Waits until guest `name` has written `line` on its serial console.
    pub fn wait_for(&self, name: &str, line: &str, secs: u64) {
        super::wait_until(&format!("{name} to write '{line}' (log: {})", self.log(name)), secs, || self.log(name).contains(line));
    }

    /// The pids of the QEMU processes whose pid files are here.
    pub fn pids(&self) -> Vec<i32> {
        let Ok(rd) = std::fs::read_dir(self.dir()) else { return vec![] };
        rd.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
            .filter(|p: &i32| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with("qemu")))
            .collect()
    }
}

impl Drop for Guests {
    fn drop(&mut self) {
        for p in self.pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
        }
    }
}
