//! Redfish against a real service (sushy-tools' emulator over HTTPS, tests/common/redfish.rs):
//! power through ctys-bmc, ctys.bmc and PM, read back with curl; the failures a user meets
//! (wrong password, untrusted certificate, a system or boot device that is not there); and
//! services that answer HTML, garbage, 50 MB or nothing.
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::redfish::{Emulator, PASSWORD};
use common::{bin, split, TempDir};

fn bmc(home: &TempDir, args: &[&str]) -> (i32, String, String) {
    split(bin("ctys-bmc", home.path()).env("IPMI_PASSWORD", PASSWORD).args(args).output().unwrap())
}

#[test]
fn ctys_bmc_powers_systems_on_and_off_and_sets_the_boot_device() {
    let emu = Emulator::start(3);
    let home = TempDir::new("redfish");
    let ca = emu.ca().display().to_string();
    let (u1, u2, u3) = (emu.url(1), emu.url(2), emu.url(3));
    // Three systems at once, in the order given; by name, by UUID (as the URL's path).
    let by_uuid = format!("redfish://127.0.0.1:{}/{}", emu.port, Emulator::uuid(2));
    let (code, out, err) = bmc(&home, &["--ca", &ca, &u1, &by_uuid, &u3, "power", "status"]);
    assert_eq!((code, out.as_str()), (0, format!("{u1}: off\n{by_uuid}: off\n{u3}: off\n").as_str()), "{err}");
    // On: the 204 is not the result; the line comes once PowerState reads On (curl agrees).
    let (code, out, err) = bmc(&home, &["--ca", &ca, &u1, &u2, "power", "on"]);
    assert_eq!((code, out.as_str()), (0, format!("{u1}: ok\n{u2}: ok\n").as_str()), "{err}");
    assert_eq!((emu.power(1), emu.power(2), emu.power(3)), ("On".into(), "On".into(), "Off".into()));
    // On again: nothing to do, no error.
    assert_eq!(bmc(&home, &["--ca", &ca, &u1, "power", "on"]).0, 0);
    // Soft: GracefulShutdown, then Off; -X records.
    let (code, out, _) = bmc(&home, &["--ca", &ca, "-X", &u1, "power", "soft"]);
    assert_eq!((code, out), (0, format!("{u1};ok;\n")));
    assert_eq!(emu.power(1), "Off");
    // Cycle where the system has no PowerCycle: ForceOff, then On.
    let (code, _, err) = bmc(&home, &["--ca", &ca, &u2, "power", "cycle"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(emu.power(2), "On");
    // Boot override: once, read back by curl; a device the system does not list names those it does.
    let (code, _, err) = bmc(&home, &["--ca", &ca, &u3, "bootdev", "pxe", "--once"]);
    assert_eq!(code, 0, "{err}");
    // (The emulator keeps BootSourceOverrideEnabled Continuous whatever it is sent: libvirt's way.)
    assert_eq!(emu.boot(3, "BootSourceOverrideTarget"), "Pxe");
    let (code, out, _) = bmc(&home, &["--ca", &ca, "--json", &u3, "bootdev", "bios"]);
    assert_eq!(code, 3);
    assert!(out.contains("the system cannot boot from BiosSetup; it allows: Pxe, Cd, Hdd, UefiHttp") && out.contains("\"kind\":\"unsupported\""), "{out}");
    // Identify: the indicator blinks, then is off.
    assert_eq!(bmc(&home, &["--ca", &ca, &u3, "identify", "10"]).0, 0);
    assert_eq!(emu.boot(3, "IndicatorLED"), "Blinking");
    assert_eq!(bmc(&home, &["--ca", &ca, &u3, "identify", "0"]).0, 0);
    assert_eq!(emu.boot(3, "IndicatorLED"), "Off");
}

#[test]
fn the_failures_users_meet_say_what_is_wrong() {
    let emu = Emulator::start(2);
    let home = TempDir::new("redfish");
    let ca = emu.ca().display().to_string();
    let u1 = emu.url(1);
    // Wrong password: exit 3, says so; the password is nowhere in the output.
    let t0 = Instant::now();
    let (code, out, err) = split(bin("ctys-bmc", home.path()).env("IPMI_PASSWORD", "not-the-password").args(["--ca", &ca, &u1, "power", "status"]).output().unwrap());
    assert_eq!(code, 3, "{err}");
    assert!(out.contains("HTTP 401: wrong user or password"), "{out}");
    assert!(!out.contains("not-the-password") && !err.contains("not-the-password"));
    // Sanity bound only (not a benchmark): a refusal is one round trip, not a timeout.
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
    // No --ca: the self-signed certificate is refused, naming its subject (exit 2).
    let (code, out, _) = bmc(&home, &[&u1, "power", "status"]);
    assert_eq!(code, 2);
    assert!(out.contains("certificate 'CN=127.0.0.1' not trusted: self-signed certificate"), "{out}");
    // --insecure works, and says so on every run.
    let (code, out, err) = bmc(&home, &["--insecure", &u1, "power", "status"]);
    assert_eq!((code, out), (0, format!("{u1}: off\n")));
    assert!(err.contains("TLS certificate not verified"), "{err}");
    // A CA file that is not there: exit 2 before anything is sent; one that holds no certificate: said.
    let (code, _, err) = bmc(&home, &["--ca", "/nonexistent/ca.pem", &u1, "power", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("--ca /nonexistent/ca.pem: no such file"), "{err}");
    let notpem = home.write("not.pem", "hello\n").display().to_string();
    let (code, out, _) = bmc(&home, &["--ca", &notpem, &u1, "power", "status"]);
    assert_eq!(code, 3);
    assert!(out.contains("no PEM certificate in it"), "{out}");
    // A system that is not there names those that are; a bare address with two systems asks for one.
    let (code, out, _) = bmc(&home, &["--ca", &ca, &format!("redfish://127.0.0.1:{}/node09", emu.port), "power", "status"]);
    assert_eq!(code, 3);
    assert!(out.contains(&format!("no system \"node09\"; the service has: {} (node01), {} (node02)", Emulator::uuid(1), Emulator::uuid(2))), "{out}");
    let (code, out, _) = bmc(&home, &["--ca", &ca, "-I", "redfish", &format!("127.0.0.1:{}", emu.port), "power", "status"]);
    assert_eq!(code, 3);
    assert!(out.contains("2 systems: name one"), "{out}");
    // Misuse: exit 1 before anything is sent.
    for (args, msg) in [
        (vec!["power", "status"], "no BMC given"),
        (vec![u1.as_str(), "power", "bounce"], "power takes one of"),
        (vec!["ftp://h", "power", "status"], "unknown BMC protocol 'ftp://'"),
        (vec!["--ca", "x", "--insecure", u1.as_str(), "power", "status"], "--ca and --insecure exclude each other"),
        (vec!["-I", "lanplus", u1.as_str(), "power", "status"], "is a redfish BMC, and -I says lanplus"),
        (vec![u1.as_str(), "power", "status", "--once"], "power takes one of"),
        (vec!["-S", "a/b", u1.as_str(), "power", "status"], "bad system (-S) 'a/b'"),
    ] {
        let (code, _, err) = bmc(&home, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn ctys_bmc_from_lua_probes_and_pm_powers_through_the_machine_database() {
    let emu = Emulator::start(1);
    let home = TempDir::new("redfish");
    let ca = emu.ca().display().to_string();
    let script = home.write(
        "bmc.lua",
        &format!(
            r#"local b = assert(ctys.bmc.open{{ host = "127.0.0.1", port = {port}, ca = {ca:?} }})
               print(b.protocol, b:power("status"))
               print(b:power("bounce"))
               b:close()
               print(b:power("status"))
               local r = assert(ctys.redfish.open{{ host = "127.0.0.1", port = {port}, ca = {ca:?} }})
               local i = r:info()
               print(i.name, i.session, table.concat(i.resets, ","))
               assert(r:bootdev("cdrom", {{ mode = "Legacy" }}))
               local boot = r:bootdev()
               print(boot.target, boot.mode)
               r:close()"#,
            port = emu.port
        ),
    );
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).arg(script).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "redfish\toff");
    assert!(lines[1].starts_with("nil\tredfish 127.0.0.1:") && lines[1].ends_with("no power action \"bounce\" (status, on, off, soft, cycle, reset, diag)\tinvalid"), "{}", lines[1]);
    assert!(lines[2].ends_with("the session is closed or busy\tclosed"), "{}", lines[2]);
    assert_eq!(lines[3], "node01\tfalse\tOn,ForceOff,GracefulShutdown,GracefulRestart,ForceRestart,Nmi,ForceOn");
    assert_eq!(lines[4], "Cd\tLegacy");
    assert_eq!((emu.boot(1, "BootSourceOverrideTarget"), emu.boot(1, "BootSourceOverrideMode")), ("Cd".into(), "Legacy".into()));

    // PM: the machine's bmc= is a Redfish URL; CREATE with BMC powers it on, CANCEL FORCE,REDFISH off.
    home.write(".ctys/machines", &format!("node01 bmc={} bmc_ca={ca}\n", emu.url(1)));
    let pm = |action: &str| split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).args(["-t", "pm", "-a", action]).output().unwrap());
    let (code, out, err) = pm("create=bmc,l:node01,PING:off,SSHPING:off");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("CREATE node01: bmc: powered on through the BMC {}\nCREATE node01: up\n", emu.url(1)));
    assert_eq!(emu.power(1), "On");
    let (code, out, err) = pm("cancel=FORCE,REDFISH,l:node01");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("CANCEL node01: redfish: powered off through the BMC {} (FORCE)\n", emu.url(1)));
    assert_eq!(emu.power(1), "Off");
    let (code, _, err) = pm("cancel=FORCE,IPMI,l:node01");
    assert_eq!(code, 2);
    assert!(err.contains("is a redfish BMC: use REDFISH or BMC"), "{err}");
}

#[test]
fn ctrl_c_ends_a_power_wait_at_once_and_the_run_exits_130() {
    let emu = Emulator::start(1);
    let home = TempDir::new("redfish");
    let ca = emu.ca().display().to_string();
    let mut child = bin("ctys-bmc", home.path())
        .env("IPMI_PASSWORD", PASSWORD)
        .args(["--ca", &ca, "-W", "60", &emu.url(1), "power", "on"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reset is asked for at once; PowerState changes 1-11 s later: the wait is under way.
    common::wait_until("the emulator to be asked for On", 20, || std::fs::read_to_string(emu.dir.path().join("emu.log")).unwrap_or_default().contains("ComputerSystem.Reset"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let t0 = Instant::now();
    common::wait_until("SIGINT to end ctys-bmc", 10, || child.try_wait().unwrap().is_some());
    let (code, _, err) = split(child.wait_with_output().unwrap());
    assert_eq!(code, 130, "{err}");
    // Sanity bound only: the poll checks its cancel flag every 50 ms.
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
}

/// A TLS server on loopback that answers every request with `reply` (bytes after the TLS
/// handshake; "" = never answers), using the emulator-style certificate in `dir`.
struct Hostile {
    child: std::process::Child,
    port: u16,
}

impl Hostile {
    fn start(dir: &TempDir, reply: &str) -> Hostile {
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout").arg(dir.path().join("key.pem")).arg("-out").arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        assert!(ok.success());
        let server = dir.write("server.py", r#"
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
reply = sys.argv[3]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
        t.recv(65536)
        if reply == "never":
            threading.Event().wait(3600)
        elif reply == "huge":
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\": \"")
            chunk = b"x" * 65536
            for _ in range(800):
                t.sendall(chunk)
        else:
            t.sendall(reply.encode())
        t.close()
    except Exception:
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#);
        let mut child = Command::new("python3")
            .arg(&server).arg(dir.path().join("cert.pem")).arg(dir.path().join("key.pem")).arg(reply)
            .stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        Hostile { child, port: line.trim().parse().unwrap() }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn hostile_services_get_a_bounded_clear_failure() {
    let html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 23\r\n\r\n<html>login page</html>";
    let garbage = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"Systems";
    let not_http = "SSH-2.0-OpenSSH_9.2\r\n";
    let big_length = "HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n{";
    for (reply, want, kind) in [
        (html, "not a JSON document", "protocol"),
        (garbage, "not a JSON document", "protocol"),
        (not_http, "not an HTTP response", "protocol"),
        (big_length, "a 52428800-byte body (the most taken is 4194304)", "toolarge"),
        ("huge", "a body over 4194304 bytes", "toolarge"),
        ("never", "no answer within 2 s", "timeout"),
    ] {
        let dir = TempDir::new("hostile-redfish");
        let h = Hostile::start(&dir, reply);
        let script = dir.write(
            "h.lua",
            &format!(
                r#"local b, e, kind = ctys.redfish.open{{ host = "127.0.0.1", port = {}, ca = "{}/cert.pem", timeout = 2 }}
                   print(b, kind, e)
                   print(ctys.fs.read("/proc/self/status"):match("VmHWM:%s*(%d+) kB"))"#,
                h.port,
                dir.path().display()
            ),
        );
        let (code, out, err) = split(bin("ctys", dir.path()).env("IPMI_PASSWORD", "pw").arg(&script).output().unwrap());
        assert_eq!(code, 0, "{reply:.20}: {err}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with(&format!("nil\t{kind}\t")) && lines[0].contains(want), "{reply:.20}: {out}");
        let hwm: u64 = lines[1].parse().unwrap();
        assert!(hwm < 64 * 1024, "{reply:.20}: peak RSS {hwm} kB");
    }
}
