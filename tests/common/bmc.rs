//! OpenIPMI's ipmi_sim as a real BMC on 127.0.0.x for the tests: its own lan.conf (users admin
//! and oper, a GUID so RMCP+ is on), one management controller, and the power model in
//! lua/ctys/tools/lab/chassis.sh (the sandbox lab's own) keeping state in files.
use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

pub const USER: &str = "admin";
pub const PASSWORD: &str = "password";

pub struct Bmc {
    pub dir: TempDir,
    pub addr: String,
    pub port: u16,
    child: Child,
}

/// A UDP port free on the address right now.
fn free_udp_port(addr: &str) -> u16 {
    UdpSocket::bind((addr, 0)).unwrap().local_addr().unwrap().port()
}

impl Bmc {
    pub fn start(addr: &str) -> Bmc {
        Bmc::start_full(addr, "", "")
    }

    /// A BMC whose machine's serial port is the TCP server at `serial` (`HOST:PORT`): ipmi_sim
    /// connects there when a console is activated.
    pub fn start_with_sol(addr: &str, serial: &str) -> Bmc {
        Bmc::start_full(addr, &format!("  sol \"tcp:{serial}\" 115200\n"), "")
    }

    /// A BMC whose simulation file has more commands (sensors, SDRs, SEL entries) before its
    /// MC is enabled.
    pub fn start_emu(addr: &str, emu: &str) -> Bmc {
        Bmc::start_full(addr, "", emu)
    }

    fn start_full(addr: &str, extra: &str, emu: &str) -> Bmc {
        let dir = TempDir::new("bmc");
        let d = dir.path().display().to_string();
        let port = free_udp_port(addr);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/lua/ctys/tools/lab/chassis.sh");
        dir.write(
            "lan.conf",
            &format!(
                "name \"ctystest\"\nset_working_mc 0x20\n  startlan 1\n    addr {addr} {port}\n    priv_limit admin\n\
                 \x20   allowed_auths_callback md5 straight\n    allowed_auths_user md5 straight\n\
                 \x20   allowed_auths_operator md5 straight\n    allowed_auths_admin md5 straight\n\
                 \x20   guid a123456789abcdefa123456789abcdef\n  endlan\n\
                 \x20 chassis_control \"{script} {d} 0x20\"\n\
                 \x20 user 2 true \"{USER}\" \"{PASSWORD}\" admin 10 md5 straight\n\
                 \x20 user 3 true \"oper\" \"operpass\" operator 10 md5 straight\n{extra}"
            ),
        );
        dir.write("sim.emu", &format!("mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nsel_enable 0x20 1000 0x0a\n{emu}mc_enable 0x20\n"));
        dir.write("power", "1\n");
        let child = Command::new("ipmi_sim")
            .args(["-c", &format!("{d}/lan.conf"), "-f", &format!("{d}/sim.emu"), "-s", &d, "-n"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(dir.path().join("sim.out")).unwrap()))
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("ipmi_sim is needed (package openipmi)");
        let b = Bmc { dir, addr: addr.to_string(), port, child };
        b.wait_ready();
        b
    }

    /// Waits until the simulator answers Get Channel Authentication Capabilities (no session
    /// needed), as ipmitool's first request.
    fn wait_ready(&self) {
        let s = UdpSocket::bind((self.addr.as_str(), 0)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let probe = [0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x8e, 0x04, 0xb5];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 512];
        loop {
            let _ = s.send_to(&probe, (self.addr.as_str(), self.port));
            if s.recv(&mut buf).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "ipmi_sim did not answer; {}", std::fs::read_to_string(self.dir.path().join("sim.out")).unwrap_or_default());
        }
    }

    /// A state file of the power model (power, boot, identify, reset, chassis.log).
    pub fn state(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default().trim().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What ipmitool (RMCP+, suite 3) prints for a command: the independent reader.
    pub fn ipmitool(&self, args: &[&str]) -> String {
        let o = Command::new("ipmitool")
            .args(["-I", "lanplus", "-C", "3", "-H", &self.addr, "-p", &self.port.to_string(), "-U", USER, "-E", "-N", "1", "-R", "3"])
            .args(args)
            .env("IPMI_PASSWORD", PASSWORD)
            .output()
            .expect("ipmitool is needed (package ipmitool)");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// The simulator's pid (a test may stop it to play a BMC that stopped answering).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn target(&self) -> String {
        format!("{}:{}", self.addr, self.port)
    }
}

impl Drop for Bmc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
