//! PM CANCEL on its targets (private sshds on 127.0.0.x), with the command table pointed at a
//! recorder: what would have run, in order, on which host. Nothing is ever powered off.
mod common;

use common::sshd::Sshd;
use common::{bin, split, TempDir};

struct Setup {
    sshd: Sshd,
    rec: TempDir,
    remote: String,
}

impl Setup {
    fn new() -> Setup {
        let sshd = Sshd::start(90, 2);
        let rec = TempDir::new("rec");
        let log = rec.path().join("log");
        let script = rec.write("rec.sh", &format!("#!/bin/sh\necho \"$(echo $SSH_CONNECTION | cut -d' ' -f3) $*\" >> {}\n", log.display()));
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let entries: String = ["poweroff", "reboot", "init", "halt", "logger", "wall"]
            .iter()
            .map(|c| format!("{c} = {{ {:?}, {c:?} }}, ", script.display().to_string()))
            .collect();
        let table = rec.write("commands.lua", &format!("return {{ {entries} }}"));
        sshd.home.write(".ssh/config", &format!("Host lab01\n  HostName 127.0.0.90\n  Port {p}\nHost lab02\n  HostName 127.0.0.91\n  Port {p}\n", p = sshd.port));
        let remote = format!("env CTYS_COMMANDS={} CTYS_CANCEL_TIMEOUT=0 CTYS_NO_DNS=1 {}", table.display(), env!("CARGO_BIN_EXE_ctys"));
        Setup { sshd, rec, remote }
    }

    fn run(&self, line: &str) -> (i32, String, String) {
        let _ = std::fs::remove_file(self.rec.path().join("log"));
        split(bin("ctys", self.sshd.home.path()).env("CTYS_REMOTE_CMD", &self.remote).args(line.split(' ')).output().unwrap())
    }

    fn recorded(&self) -> Vec<String> {
        std::fs::read_to_string(self.rec.path().join("log")).unwrap_or_default().lines().map(String::from).collect()
    }
}

#[test]
fn the_manuals_cancel_lines_run_what_they_should_where_they_should() {
    let s = Setup::new();
    let announce = |host: &str, what: &str| vec![format!("{host} logger ctys: CANCEL {what} in 0 s"), format!("{host} wall ctys: CANCEL {what} in 0 s")];
    // §3.1: the stack goes down, not the PM itself.
    let (code, out, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF:0 lab01");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(s.recorded(), announce("127.0.0.90", "tst100 (POWEROFF)"));
    // §3.2: REBOOT without SELF, then with SELF.
    s.run("-t pm -a cancel=1:tst001,REBOOT lab01");
    assert_eq!(s.recorded(), announce("127.0.0.90", "tst001 (REBOOT)"));
    let (code, _, _) = s.run("-t pm -a cancel=1:tst001,REBOOT,SELF lab01");
    assert_eq!(code, 0);
    let mut want = announce("127.0.0.90", "tst001 (REBOOT)");
    want.push("127.0.0.90 reboot".into());
    assert_eq!(s.recorded(), want);
    // §3.4: INIT, on the other host, with SELF.
    s.run("-t PM -a cancel=1:tst100,INIT:3,SELF lab02");
    let mut want = announce("127.0.0.91", "tst100 (INIT:3)");
    want.push("127.0.0.91 init 3".into());
    assert_eq!(s.recorded(), want);
    // §3.3: PAUSE is a POWEROFF, with a warning.
    let (_, _, err) = s.run("-t pm -a cancel=1:tst100,PAUSE,SELF lab02");
    assert!(err.contains("PAUSE is mapped to POWEROFF"), "{err}");
    assert_eq!(s.recorded().last().map(String::as_str), Some("127.0.0.91 poweroff"));
}

#[test]
fn dry_run_records_nothing_and_clashes_exit_1() {
    let s = Setup::new();
    let (code, out, _) = s.run("-t pm -a cancel=1:tst100,INIT:0,SELF --dry-run lab01");
    assert_eq!(code, 0);
    assert!(out.contains("CANCEL tst100: would run ") && out.ends_with(" init 0\n"), "{out}");
    assert!(s.recorded().is_empty(), "a dry run runs nothing");
    for (line, msg) in [
        ("-t pm -a cancel=1:tst100,REBOOT,wol lab01", "WOL does not combine with REBOOT"),
        ("-t pm -a cancel=1:tst100,INIT:3,wol lab01", "WOL does not combine with INIT:3"),
        ("-t pm -a cancel=1:tst100,force,stack lab01", "FORCE and STACK exclude each other"),
        ("-t pm -a cancel=1:tst100,if:eth0 lab01", "IF needs WOL"),
        ("-t pm -a cancel=1:tst100,POWEROFF,REBOOT lab01", "POWEROFF and REBOOT exclude each other"),
    ] {
        let (code, _, err) = s.run(line);
        assert_eq!(code, 1, "{line}: {err}");
        assert!(err.contains(msg), "{line}: {err}");
    }
    assert!(s.recorded().is_empty());
}
