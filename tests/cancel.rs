//! PM CANCEL on its targets (private sshds on 127.0.0.x), with the command table pointed at a
//! recorder: what would have run, in order, on which host. Nothing is ever powered off.
mod common;

use common::bmc::{Bmc, PASSWORD};
use common::sshd::Sshd;
use common::tmux::Tmux;
use common::netns::{privileged, Pair};
use common::{bin_in, split, TempDir};

struct Setup {
    sshd: Sshd,
    rec: TempDir,
    remote: String,
    netns: Option<String>,
}

impl Setup {
    /// lab01 .. lab04 on 127.0.0.90 .. .93.
    fn new() -> Setup {
        let sshd = Sshd::start(90, 4);
        let config: String = (0..4).map(|i| format!("Host lab0{}\n  HostName 127.0.0.{}\n  Port {}\n", i + 1, 90 + i, sshd.port)).collect();
        sshd.home.write(".ssh/config", &config);
        Setup::on(sshd, None)
    }

    /// Targets served by `sshd`, ctys run inside `netns` if given.
    fn on(sshd: Sshd, netns: Option<&str>) -> Setup {
        let rec = TempDir::new("rec");
        let log = rec.path().join("log");
        // A test may add `hook`, run with the recorded command's words (a "machine" going down).
        let script = rec.write(
            "rec.sh",
            &format!(
                "#!/bin/sh\necho \"$(echo $SSH_CONNECTION | cut -d' ' -f3) $*\" >> {}\n[ -x {hook} ] && {hook} \"$@\"\nexit 0\n",
                log.display(),
                hook = rec.path().join("hook").display()
            ),
        );
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        // Fake virsh and xl: the machines they run are lines of vms.<tool>; shutdown and destroy
        // are recorded and take the machine off the list (a machine named "stuck" stays), under
        // a lock, since the stack's shutdowns run at once.
        let hv = rec.write(
            "hv.sh",
            &format!(
                "#!/bin/sh\ntool=$1; shift; st={d}/vms.$tool\ncase \"$1\" in\n\
                 list) if [ $tool = xl ]; then echo 'Name ID Mem VCPUs State Time(s)'; echo 'Domain-0 0 1024 2 r----- 9.0'; \
                 awk '{{print $1, NR, 512, 1, \"-b----\", 1.0}}' $st; else cat $st; fi ;;\n\
                 shutdown|destroy) echo \"$(echo $SSH_CONNECTION | cut -d' ' -f3) $tool $1 $2\" >> {log}; \
                 [ \"$2\" = stuck ] || ( flock 9; grep -vx \"$2\" $st > $st.new.$$; mv $st.new.$$ $st ) 9>$st.lock ;;\n\
                 uri|info) echo here ;;\n*) exit 1 ;;\nesac\n",
                d = rec.path().display(),
                log = log.display()
            ),
        );
        std::fs::set_permissions(&hv, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        rec.write("vms.virsh", "");
        rec.write("vms.xl", "");
        let entries: String = ["poweroff", "reboot", "init", "halt", "logger", "wall"]
            .iter()
            .map(|c| format!("{c} = {{ {:?}, {c:?} }}, ", script.display().to_string()))
            .chain(["virsh", "xl"].iter().map(|c| format!("{c} = {{ {:?}, {c:?} }}, ", hv.display().to_string())))
            .collect();
        let table = rec.write("commands.lua", &format!("return {{ {entries} }}"));
        rec.write("entries", &entries);
        let remote = format!("env CTYS_COMMANDS={} CTYS_CANCEL_TIMEOUT=0 CTYS_NO_DNS=1 {}", table.display(), env!("CARGO_BIN_EXE_ctys"));
        Setup { sshd, rec, remote, netns: netns.map(String::from) }
    }

    fn run(&self, line: &str) -> (i32, String, String) {
        self.run_env(line, &[])
    }

    fn run_env(&self, line: &str, env: &[(&str, &str)]) -> (i32, String, String) {
        let _ = std::fs::remove_file(self.rec.path().join("log"));
        let mut cmd = bin_in(self.netns.as_deref(), "ctys", self.sshd.home.path());
        // The caller gets the recorders too: a line that runs here must not reach a real poweroff.
        cmd.env("CTYS_REMOTE_CMD", &self.remote).env("CTYS_COMMANDS", self.rec.path().join("commands.lua")).envs(env.iter().copied()).args(line.split(' '));
        split(cmd.output().unwrap())
    }

    /// What the recorded command does besides recording: a shell script, or nothing.
    fn hook(&self, script: Option<&str>) {
        let p = self.rec.path().join("hook");
        match script {
            Some(s) => {
                std::fs::write(&p, format!("#!/bin/sh\n{s}\n")).unwrap();
                std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            }
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }

    /// One entry of the command table replaced (the others stay recorders).
    fn command(&self, name: &str, argv: &[&str]) {
        let entries = std::fs::read_to_string(self.rec.path().join("entries")).unwrap();
        let words: Vec<String> = argv.iter().map(|w| format!("{w:?}")).collect();
        self.rec.write("commands.lua", &format!("local t = {{ {entries} }}\nt.{name} = {{ {} }}\nreturn t\n", words.join(", ")));
    }

    /// The machines a fake hypervisor runs.
    fn vms(&self, tool: &str, names: &[&str]) {
        self.rec.write(&format!("vms.{tool}"), &names.iter().map(|n| format!("{n}\n")).collect::<String>());
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
fn four_hosts_at_once_each_runs_its_own_sequence() {
    let s = Setup::new();
    // §3.4 verbatim on two hosts (no SELF: the stack only), SELF on the two others.
    let (code, out, err) = s.run("-y -t PM -a cancel=1:tst100,INIT:0 lab01 lab02");
    assert_eq!(code, 0, "{out}{err}");
    let mut rec = s.recorded();
    rec.sort();
    assert_eq!(rec.len(), 4, "{rec:?}");
    assert!(rec[..2].iter().all(|l| l.starts_with("127.0.0.90 ")) && rec[2..].iter().all(|l| l.starts_with("127.0.0.91 ")), "{rec:?}");
    assert!(!rec.iter().any(|l| l.ends_with("init 0")), "no SELF: the hosts stay up");
    let (code, out, err) = s.run("-y -t pm -a cancel=1:tst100,INIT:0,SELF lab03 lab04");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("lab03: CANCEL tst100: running ") && out.contains("lab04: CANCEL tst100: running "), "{out}");
    let mut rec = s.recorded();
    rec.sort();
    let mut want: Vec<String> = ["92", "93"]
        .iter()
        .flat_map(|h| {
            let a = format!("127.0.0.{h} ");
            vec![format!("{a}init 0"), format!("{a}logger ctys: CANCEL tst100 (INIT:0) in 0 s"), format!("{a}wall ctys: CANCEL tst100 (INIT:0) in 0 s")]
        })
        .collect();
    want.sort();
    assert_eq!(rec, want);
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
        ("-t pm -a cancel=1:tst100,REBOOT,IPMI lab01", "IPMI powers a machine off; it does not combine with REBOOT"),
        ("-t pm -a cancel=1:tst100,INIT:3,IPMI lab01", "it does not combine with INIT:3"),
    ] {
        let (code, _, err) = s.run(line);
        assert_eq!(code, 1, "{line}: {err}");
        assert!(err.contains(msg), "{line}: {err}");
    }
    assert!(s.recorded().is_empty());
}

#[test]
fn ipmi_powers_off_through_the_bmc_after_the_os_or_at_once_with_force() {
    let s = Setup::new();
    let b = Bmc::start("127.0.0.92");
    let db = s.rec.write("machines", &format!("lab01 bmc={}\nlab02 ip=127.0.0.91\n", b.target()));
    let db = db.to_str().unwrap();
    let env = [("IPMI_PASSWORD", PASSWORD), ("CTYS_MACHINES", db)];
    let power = || b.ipmitool(&["chassis", "power", "status"]);
    let power_on = || std::fs::write(b.path("power"), "1\n").unwrap();
    let off = "Chassis Power is off";

    // FORCE,IPMI: the BMC at once; the OS is not asked.
    let (code, out, err) = s.run_env("-t pm -a cancel=1:tst100,FORCE,IPMI lab01", &env);
    assert_eq!((code, power()), (0, off.into()), "{out}{err}");
    assert!(out.contains(&format!("CANCEL lab01: ipmi: powered off through the BMC {} (FORCE)", b.target())), "{out}");
    assert!(s.recorded().is_empty(), "{:?}", s.recorded());

    // IPMI: the OS goes down first (SELF implied), and powers itself off.
    power_on();
    s.hook(Some(&format!("[ \"$1\" = poweroff ] && echo 0 > {}", b.path("power").display())));
    let (code, out, err) = s.run_env("-t pm -a cancel=1:tst100,POWEROFF:0,IPMI lab01", &env);
    assert_eq!((code, power()), (0, off.into()), "{out}{err}");
    assert_eq!(s.recorded().last().map(String::as_str), Some("127.0.0.90 poweroff"));
    assert!(out.contains(&format!("CANCEL lab01: ipmi: the BMC {} reports power off after 0 s", b.target())), "{out}");

    // The OS stays up: the BMC switches it off after TIMEOUT.
    power_on();
    s.hook(None);
    let (code, out, err) = s.run_env("-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:2,IPMI lab01", &env);
    assert_eq!((code, power()), (0, off.into()), "{out}{err}");
    assert!(err.contains("CANCEL lab01: the OS did not go down within 2 s"), "{err}");
    assert!(out.contains("(fallback after 2 s)"), "{out}");

    // Refusals: nothing relayed, the BMC untouched.
    power_on();
    for (line, env, code, msg) in [
        ("-t pm -a cancel=1:tst100,IPMI lab02", &env[..], 2, "CANCEL lab02: no BMC: give ipmi:<bmc> or add bmc= to the machine database"),
        ("-t pm -a cancel=1:tst100,IPMI lab01", &[("IPMI_PASSWORD", "wrong"), ("CTYS_MACHINES", db)][..], 3, "password invalid"),
        ("-t pm -a cancel=1:tst100,IPMI:127.0.0.92 lab01 lab02", &env[..], 1, "IPMI:127.0.0.92 names one BMC for 2 targets"),
        ("-t pm -a cancel=1:tst100,IPMI", &env[..], 1, "IPMI without FORCE powers a machine off from another one"),
        ("-t pm -a cancel=FORCE,IPMI", &env[..], 1, "FORCE,IPMI needs the machine"),
    ] {
        let (c, out, err) = s.run_env(line, env);
        assert_eq!(c, code, "{line}: {out}{err}");
        assert!(err.contains(msg), "{line}: {err}");
        assert!(!err.contains("wrong"), "the password shows: {err}");
    }
    let (code, out, _) = s.run_env("-t pm -a cancel=1:tst100,IPMI --dry-run lab01", &env);
    assert_eq!(code, 0);
    assert!(out.contains("would wait up to 60 s for its OS to go down, then power off through the BMC"), "{out}");
    assert!(out.contains("would run ") && out.ends_with(&format!("BMC {}\n", b.target())), "{out}");
    assert!(s.recorded().is_empty() && power() == "Chassis Power is on", "a dry run changes nothing");
    // FORCE,IPMI from here, on a machine named in the suboptions.
    let (code, out, err) = s.run_env("-t pm -a cancel=t:lab01,FORCE,IPMI", &env);
    assert_eq!((code, power()), (0, off.into()), "{out}{err}");

    // Last: the OS halts with the power on; its sshd goes away, and 5 s later the BMC switches off.
    power_on();
    s.hook(Some(&format!("[ \"$1\" = poweroff ] && kill $(cat {})", s.sshd.dir.path().join("sshd.0.pid").display())));
    let (code, out, err) = s.run_env("-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:30,IPMI lab01", &env);
    assert_eq!((code, power()), (0, off.into()), "{out}{err}");
    assert!(out.contains("CANCEL lab01: its OS stopped answering SSH after"), "{out}");
    assert!(out.contains("(its OS went down 5 s before)"), "{out}");
}

#[test]
fn the_stack_goes_down_first_and_force_skips_it() {
    let s = Setup::new();
    let announce = |what: &str| vec![format!("127.0.0.90 logger ctys: CANCEL {what} in 0 s"), format!("127.0.0.90 wall ctys: CANCEL {what} in 0 s")];
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // §3.1: every hypervisor's machines get INIT:0 (a shutdown), the PM stays up.
    s.vms("virsh", &["web", "db"]);
    s.vms("xl", &["dom1"]);
    let (code, out, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF:0 lab01");
    assert_eq!(code, 0, "{out}{err}");
    let rec = s.recorded();
    assert_eq!(rec[..2], announce("tst100 (POWEROFF)")[..]);
    assert_eq!(sorted(rec[2..].to_vec()), ["127.0.0.90 virsh shutdown db", "127.0.0.90 virsh shutdown web", "127.0.0.90 xl shutdown dom1"]);
    assert!(out.contains("stack: all down"), "{out}");
    // §3.2 with SELF: the stack first, then the PM reboots.
    s.vms("virsh", &["web"]);
    s.run("-t pm -a cancel=1:tst001,REBOOT,SELF lab01");
    assert_eq!(s.recorded()[2..], ["127.0.0.90 virsh shutdown web", "127.0.0.90 reboot"]);
    // FORCE on a PM skips the stack.
    s.vms("virsh", &["web"]);
    let (_, out, _) = s.run("-t pm -a cancel=1:tst100,FORCE,POWEROFF:0,SELF lab01");
    assert_eq!(s.recorded()[2..], ["127.0.0.90 poweroff"]);
    assert!(out.contains("FORCE: the machines on top are not asked"), "{out}");
    // §3.1 -t xen with force: the Xen domains are destroyed at once, libvirt's left alone.
    s.vms("xl", &["dom1", "dom2"]);
    let (code, _, err) = s.run("-t xen -a cancel=1:tst100,force,POWEROFF:0 lab01");
    assert_eq!(code, 0, "{err}");
    assert_eq!(sorted(s.recorded()[2..].to_vec()), ["127.0.0.90 xl destroy dom1", "127.0.0.90 xl destroy dom2"]);
    // §3.2 -t xen REBOOT,FORCE: no stack propagation, the domains' plugs pulled.
    s.vms("xl", &["dom3"]);
    s.run("-t xen -a cancel=1:tst100,REBOOT,FORCE lab01");
    assert_eq!(s.recorded()[2..], ["127.0.0.90 xl destroy dom3"]);
    // A machine that does not go down: named after TIMEOUT, exit 3 without SELF.
    s.vms("virsh", &["stuck"]);
    let (code, _, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:1 lab01");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("stack: still running after 1 s: libvirt:stuck"), "{err}");
    // A dry run lists the stack and runs nothing.
    s.vms("virsh", &["web"]);
    let (code, out, _) = s.run("-t pm -a cancel=1:tst100,INIT:0,SELF --dry-run lab01");
    assert_eq!(code, 0);
    assert!(out.contains("CANCEL tst100: would shutdown libvirt:web, then wait up to 60 s for them\n"), "{out}");
    assert!(s.recorded().is_empty());
}

#[test]
fn cancel_on_several_targets_asks_on_a_terminal_unless_yes() {
    let s = Setup::new();
    let _ = std::fs::remove_file(s.rec.path().join("log"));
    let env = format!("CTYS_REMOTE_CMD='{}' CTYS_COMMANDS={}", s.remote, s.rec.path().join("commands.lua").display());
    let t = Tmux::start_env(s.sshd.home.path(), &env, "-t pm -a cancel=1:tst100,POWEROFF:0,SELF lab01 lab02; echo exit=$?; sleep 60");
    t.wait("the question", |sc| sc.contains("ctys: cancel=1:tst100,POWEROFF:0,SELF on 2 targets (lab[01-02])? [y/N]"));
    t.keys(&["n", "Enter"]);
    let sc = t.wait("the exit", |sc| sc.contains("exit="));
    assert!(sc.contains("not confirmed, nothing done (-y skips the question)") && sc.contains("exit=1"), "{sc}");
    assert!(s.recorded().is_empty());
    let t = Tmux::start_env(s.sshd.home.path(), &env, "-t pm -a cancel=1:tst100,POWEROFF:0,SELF lab01 lab02; echo exit=$?; sleep 60");
    t.wait("the question", |sc| sc.contains("[y/N]"));
    t.keys(&["y", "Enter"]);
    t.wait("the exit", |sc| sc.contains("exit=0"));
    let mut rec = s.recorded();
    rec.retain(|l| l.ends_with("poweroff"));
    rec.sort();
    assert_eq!(rec, ["127.0.0.90 poweroff", "127.0.0.91 poweroff"]);
    // -y, and any run off a terminal, asks nothing.
    let t = Tmux::start_env(s.sshd.home.path(), &env, "-y -t pm -a cancel=1:tst100,POWEROFF:0 lab01 lab02; echo exit=$?; sleep 60");
    let sc = t.wait("the exit", |sc| sc.contains("exit="));
    assert!(sc.contains("exit=0") && !sc.contains("[y/N]"), "{sc}");
}

#[test]
fn wol_arms_the_first_interface_and_a_veth_says_it_cannot() {
    if !privileged("wol_arms_the_first_interface_and_a_veth_says_it_cannot") {
        return;
    }
    // lab01 is an sshd in a namespace whose only interface besides lo is the veth va.
    let pair = Pair::new(None);
    let sshd = Sshd::start_at(vec!["10.99.0.1".into()], 22, Some(&pair.a));
    sshd.home.write(".ssh/config", "Host lab01\n  HostName 10.99.0.1\n");
    let s = Setup::on(sshd, Some(&pair.a));
    // §3.1's -t xen lines with wol: nothing announced, nothing run, exit 2.
    for line in ["-t xen -a cancel=1:tst100,POWEROFF,wol lab01", "-t xen -a cancel=1:tst100,POWEROFF,wol,broadcast:192.168.3.255 lab01"] {
        let (code, out, err) = s.run(line);
        assert_eq!(code, 2, "{line}: {out}{err}");
        assert!(err.contains("CANCEL tst100: WOL: va: the driver does not support Wake-on-LAN"), "{line}: {err}");
        assert!(s.recorded().is_empty(), "{line}: {:?}", s.recorded());
    }
    let (code, out, _) = s.run("-t pm -a cancel=1:tst100,POWEROFF,wol,if:va,SELF --dry-run lab01");
    assert_eq!(code, 0);
    assert!(out.starts_with("CANCEL tst100: would arm va for Wake-on-LAN (wol g); wake it later with: ctys -t pm -a create=wol,t:tst100\n"), "{out}");
    let (code, _, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF,wol,if:nosuch0,SELF lab01");
    assert_eq!(code, 2);
    assert!(err.contains("nosuch0: no such interface"), "{err}");
    assert!(s.recorded().is_empty());
}

#[test]
fn the_libvirt_handler_speaks_to_a_real_virsh() {
    let s = Setup::new();
    // libvirt's test driver: a fresh connection has one running domain, "test", every time, so a
    // shutdown is accepted and the domain is listed again by the next connection.
    s.command("virsh", &["virsh", "-c", "test:///default"]);
    s.vms("xl", &[]);
    let (code, out, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:0 lab01");
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("CANCEL tst100: stack: shutdown libvirt:test\n"), "{out}");
    assert!(err.contains("stack: still running after 0 s: libvirt:test"), "{err}");
    // A virsh with no daemon behind it: the handler is not here, nothing is asked.
    s.command("virsh", &["virsh", "-c", "qemu+unix:///system?socket=/nonexistent/libvirt-sock"]);
    let (code, out, err) = s.run("-t pm -a cancel=1:tst100,POWEROFF:0 lab01");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("CANCEL tst100: stack: nothing runs on top\n") && !err.contains("virsh"), "{out}{err}");
}

#[test]
fn ipmi_leaves_a_machine_on_when_its_shutdown_did_not_start() {
    let s = Setup::new();
    let b = Bmc::start("127.0.0.93");
    let db = s.rec.write("machines", &format!("lab01 bmc={}\n", b.target()));
    let env = [("IPMI_PASSWORD", PASSWORD), ("CTYS_MACHINES", db.to_str().unwrap())];
    let on = "Chassis Power is on";
    // No remote ctys: the relay exits 127 and the BMC is not touched.
    let (code, out, err) = s.run_env("-t pm -a cancel=POWEROFF,IPMI,TIMEOUT:2 lab01", &[env[0], env[1], ("CTYS_REMOTE_CMD", "/nonexistent/ctys")]);
    assert_eq!((code, b.ipmitool(&["chassis", "power", "status"]).as_str()), (127, on), "{out}{err}");
    assert!(err.contains("CANCEL lab01: its OS shutdown did not start (exit 127)"), "{err}");
    assert!(!out.contains("powered off"), "{out}");
    // A refused host key: nothing ran there, exit 255, the power stays on.
    s.sshd.write_known_hosts("");
    let (code, out, err) = s.run_env("-t pm -a cancel=POWEROFF,IPMI,TIMEOUT:2 lab01", &env);
    assert_eq!((code, b.ipmitool(&["chassis", "power", "status"]).as_str()), (255, on), "{out}{err}");
    assert!(err.contains("not known") && err.contains("its OS shutdown did not start"), "{err}");
    assert!(s.recorded().is_empty(), "{:?}", s.recorded());
    // The machine's K_g (bmc_kg_file) is used: ipmi_sim's RAKP 4 matches none, so it is refused.
    let kg = s.rec.write("kg", "0x0102030405\n");
    std::fs::set_permissions(&kg, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let db_kg = s.rec.write("machines.kg", &format!("lab01 bmc={} bmc_kg_file={}\n", b.target(), kg.display()));
    let (code, _, err) = s.run_env("-t pm -a cancel=FORCE,IPMI lab01", &[env[0], ("CTYS_MACHINES", db_kg.to_str().unwrap())]);
    assert_eq!((code, b.ipmitool(&["chassis", "power", "status"]).as_str()), (3, on), "{err}");
    assert!(err.contains("k_g invalid") && !err.contains("0x0102030405"), "{err}");
    // FORCE needs no shutdown: the BMC powers it off.
    let (code, out, err) = s.run_env("-t pm -a cancel=FORCE,IPMI lab01", &env);
    assert_eq!((code, b.ipmitool(&["chassis", "power", "status"]).as_str()), (0, "Chassis Power is off"), "{out}{err}");
}

/// The stack's shutdowns run at once: eight guests whose `virsh shutdown` takes 2 s each are
/// all down in about 2 s, not 16 (the command table runs through ctys.proc, off the Lua thread).
#[test]
fn eight_guests_that_take_2_s_each_go_down_together() {
    let rec = TempDir::new("guests");
    let st = rec.path().join("vms");
    let names: Vec<String> = (1..=8).map(|i| format!("g{i}")).collect();
    rec.write("vms", &names.iter().map(|n| format!("{n}\n")).collect::<String>());
    let virsh = rec.write(
        "virsh",
        &format!(
            "#!/bin/sh\nst={st}\ncase \"$1\" in\nuri) echo here ;;\nlist) cat $st ;;\n\
             shutdown) sleep 2; ( flock 9; grep -vx \"$2\" $st > $st.new.$$; mv $st.new.$$ $st ) 9>$st.lock ;;\n*) exit 1 ;;\nesac\n",
            st = st.display()
        ),
    );
    std::fs::set_permissions(&virsh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let table = rec.write("commands.lua", &format!("return {{ virsh = {{ {:?} }} }}", virsh.display().to_string()));
    let chunk = "local stack = require 'ctys.stack'
        local vms = stack.running('libvirt')
        local t0 = ctys.now()
        local left, errs = stack.cancel(vms, 'shutdown', 10)
        print(#vms, #left, #errs, string.format('%.1f', ctys.now() - t0))";
    let (code, out, err) = split(bin_in(None, "ctys", rec.path()).env("CTYS_COMMANDS", &table).args(["-e", chunk]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let f: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&f[..3], &["8", "0", "0"], "{out}");
    let secs: f64 = f[3].parse().unwrap();
    assert!(secs < 4.0, "eight 2 s shutdowns took {secs} s: they ran one after another");
    assert_eq!(std::fs::read_to_string(&st).unwrap(), "", "every guest is gone");
}
