//! A real Redfish service for the tests: sushy-tools' emulator (PyPI sushy-tools 2.2.0, in the
//! venv tests/run makes at target/sushy) with its fake systems driver, over HTTPS with a
//! certificate made for 127.0.0.1 and HTTP basic auth, on a free loopback port. Its systems are
//! node01..nodeNN, all off at the start. The state is read back with curl, not with ctys.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{wait_until, TempDir};

pub const USER: &str = "admin";
pub const PASSWORD: &str = "redfish-test-pw";

pub struct Emulator {
    pub dir: TempDir,
    pub port: u16,
    child: Child,
}

/// The emulator program, made by tests/run.
fn program() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/sushy/bin/sushy-emulator");
    assert!(p.exists(), "{} is missing: run ./tests/run (it installs sushy-tools into that venv)", p.display());
    p
}

impl Emulator {
    pub fn start(systems: usize) -> Emulator {
        let prog = program();
        let dir = TempDir::new("redfish");
        let d = dir.path();
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout").arg(d.join("key.pem")).arg("-out").arg(d.join("cert.pem"))
            .stdout(Stdio::null()).stderr(Stdio::null()).status().expect("openssl");
        assert!(ok.success(), "openssl req failed");
        let python = prog.with_file_name("python");
        let hash = Command::new(&python)
            .args(["-c", &format!("import bcrypt; print(bcrypt.hashpw(b'{PASSWORD}', bcrypt.gensalt(rounds=4)).decode())")])
            .output().expect("the venv's python");
        assert!(hash.status.success(), "bcrypt: {}", String::from_utf8_lossy(&hash.stderr));
        dir.write("auth", &format!("{USER}:{}", String::from_utf8_lossy(&hash.stdout)));
        let systems: Vec<String> = (1..=systems)
            .map(|i| format!("dict(uuid='27946b59-9e44-4fa7-8e91-f3527a1e{i:04x}', name='node{i:02}', power_state='Off', external_notifier=False, nics=[dict(mac='02:77:10:00:00:{i:02x}', ip='127.0.1.{i}')])"))
            .collect();
        dir.write("emu.conf", &format!(
            "SUSHY_EMULATOR_FAKE_DRIVER = True\nSUSHY_EMULATOR_FAKE_SYSTEMS = [{}]\nSUSHY_EMULATOR_AUTH_FILE = '{}'\nSUSHY_EMULATOR_STATE_DIR = '{}'\n",
            systems.join(", "), d.join("auth").display(), d.join("state").display()
        ));
        let port = super::sshd::free_port();
        let log = std::fs::File::create(d.join("emu.log")).unwrap();
        let child = Command::new(&prog)
            .arg("--config").arg(d.join("emu.conf"))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .arg("--ssl-certificate").arg(d.join("cert.pem"))
            .arg("--ssl-key").arg(d.join("key.pem"))
            .stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log)
            .spawn().expect("sushy-emulator");
        let e = Emulator { dir, port, child };
        wait_until("the Redfish emulator to answer", 60, || e.curl("GET", "/redfish/v1/Systems", None).contains("Members"));
        e
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// `redfish://127.0.0.1:PORT/nodeNN`.
    pub fn url(&self, n: usize) -> String {
        format!("redfish://127.0.0.1:{}/node{n:02}", self.port)
    }

    /// The system's UUID (its Id in the emulator).
    pub fn uuid(n: usize) -> String {
        format!("27946b59-9e44-4fa7-8e91-f3527a1e{n:04x}")
    }

    /// A request with curl (the independent client), the body it answered.
    pub fn curl(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let mut c = Command::new("curl");
        c.args(["-s", "-m", "10", "-X", method, "--cacert"]).arg(self.ca()).args(["-u", &format!("{USER}:{PASSWORD}")]);
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "-d", b]);
        }
        let out = c.arg(format!("https://127.0.0.1:{}{path}", self.port)).output().expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// PowerState of system n as curl reads it.
    pub fn power(&self, n: usize) -> String {
        let body = self.curl("GET", &format!("/redfish/v1/Systems/{}", Emulator::uuid(n)), None);
        let at = body.find("\"PowerState\"").unwrap_or_else(|| panic!("no PowerState in {body}"));
        body[at..].split('"').nth(3).unwrap_or_default().to_string()
    }

    /// A field of system n's Boot as curl reads it.
    pub fn boot(&self, n: usize, field: &str) -> String {
        let body = self.curl("GET", &format!("/redfish/v1/Systems/{}", Emulator::uuid(n)), None);
        let at = body.find(&format!("\"{field}\"")).unwrap_or_else(|| panic!("no {field} in {body}"));
        body[at..].split('"').nth(3).unwrap_or_default().to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
