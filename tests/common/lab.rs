//! The sandbox lab (`ctys lab`) for tests that drive it: up under a name of the test's own, in
//! a scratch directory, and always taken down again.
use std::path::PathBuf;
use std::process::Command;

use super::{bin, split, TempDir};

pub struct Lab {
    pub name: String,
    pub dir: PathBuf,
    pub home: TempDir,
    pub keep: TempDir,
}

/// A test that fails half way still takes its lab down: namespaces and daemons would outlive
/// the test process otherwise (its files go with the TempDir).
impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.ctys(&["down"]);
    }
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let keep = TempDir::new("lab");
        Lab { name: format!("{tag}{}", std::process::id() % 100_000), dir: keep.path().join("lab"), home: TempDir::new("labhome"), keep: keep }
    }

    pub fn ctys(&self, args: &[&str]) -> (i32, String, String) {
        self.ctys_path(args, None)
    }

    pub fn ctys_path(&self, args: &[&str], path: Option<&str>) -> (i32, String, String) {
        let mut c = bin("ctys", self.home.path());
        c.env("CTYS_LAB_NAME", &self.name).env("CTYS_LAB_DIR", &self.dir).arg("lab").args(args);
        // sushy-tools for lab03's Redfish BMC: the venv tests/run made.
        c.env("CTYS_LAB_SUSHY", concat!(env!("CARGO_MANIFEST_DIR"), "/target/sushy"));
        if let Some(p) = path {
            c.env("PATH", p);
        }
        split(c.output().unwrap())
    }

    pub fn ns(&self, i: u32) -> String {
        format!("{}{i}", self.name)
    }

    pub fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }

    /// No namespace, process or file of this lab is left.
    pub fn assert_gone(&self) {
        let ns = String::from_utf8(Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).unwrap();
        assert!(!ns.lines().any(|l| l.starts_with(&self.name)), "namespaces left: {ns}");
        assert!(!self.dir.exists(), "{} is left", self.dir.display());
        let ps = Command::new("pgrep").args(["-af", self.dir.to_str().unwrap()]).output().unwrap();
        assert!(ps.stdout.is_empty(), "processes left: {}", String::from_utf8_lossy(&ps.stdout));
    }
}

/// A machine's power as its IPMI BMC reports it, read with ipmitool from the control namespace.
pub fn ipmitool_power(lab: &Lab, bmc: &str) -> String {
    let creds = lab.file("home/.ctys/ipmi/credentials");
    let password = creds.lines().find(|l| l.starts_with(&format!("{bmc} "))).and_then(|l| l.split(' ').nth(2)).unwrap().to_string();
    let o = Command::new("ip")
        .args(["netns", "exec", &lab.ns(0), "ipmitool", "-I", "lanplus", "-C", "3", "-H", bmc, "-U", "admin", "-E", "chassis", "power", "status"])
        .env("IPMI_PASSWORD", password)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
