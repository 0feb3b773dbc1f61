//! QEMU guests (the test guest of tests/common/guest.rs, under TCG): ctys.qemu starting and
//! listing them, QMP against real QEMU and against hostile sockets, the qemu stack handler in PM
//! CANCEL, and a guest on ctys-vnetctl's switch pinging across TAP, bridge and veth in namespaces.
mod common;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::time::Instant;

use common::guest::Guests;
use common::netns::{privileged, Pair};
use common::{bin_in, split, TempDir};

/// The command table of these tests: the announcement goes nowhere; nothing may power off.
fn commands(g: &Guests) -> std::path::PathBuf {
    g.base.write(
        "commands.lua",
        "return { logger = { 'true' }, wall = { 'true' }, poweroff = { 'false' }, reboot = { 'false' }, init = { 'false' }, halt = { 'false' } }\n",
    )
}

fn cancel(g: &Guests, line: &str) -> (i32, String, String, f64) {
    let t0 = Instant::now();
    let mut c = g.ctys(&line.split(' ').collect::<Vec<_>>());
    c.env("CTYS_COMMANDS", commands(g)).env("CTYS_CANCEL_TIMEOUT", "0");
    let (code, out, err) = split(c.output().unwrap());
    (code, out, err, t0.elapsed().as_secs_f64())
}

#[test]
fn pm_cancel_takes_the_guests_down_in_parallel_force_quits_them_and_a_stuck_one_is_named() {
    let g = Guests::new();
    // Each guest takes 2 s from its power button to its power-off: one after another is 4 s.
    for name in ["g1", "g2"] {
        g.start(name, None, "ctys.powerdelay=2");
    }
    for name in ["g1", "g2"] {
        g.wait_for(name, &format!("CTYS-GUEST {name} up"), 60);
    }
    let (code, out, err) = split(g.ctys(&["-e", "for _, x in ipairs(ctys.qemu.list()) do print(x.name, x.pid > 0, x.qmp) end"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let dir = g.dir().display().to_string();
    assert_eq!(out, format!("g1\ttrue\t{dir}/g1.qmp\ng2\ttrue\t{dir}/g2.qmp\n"));
    let (code, out, err, secs) = cancel(&g, "-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:30");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("CANCEL tst100: stack: shutdown qemu:g1, qemu:g2\n") && out.contains("stack: all down"), "{out}");
    for name in ["g1", "g2"] {
        assert!(g.log(name).contains(&format!("CTYS-GUEST {name} powerdown")), "{name} saw its power button: {}", g.log(name));
    }
    assert!(secs < 3.9, "two 2 s shutdowns at once took {secs:.1} s");
    assert!(g.pids().is_empty(), "no QEMU left");
    let left: Vec<_> = std::fs::read_dir(g.dir()).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
    assert!(left.iter().all(|f| f.ends_with(".log")), "sockets and pid files removed, logs kept: {left:?}");

    // -t qemu with FORCE: QEMU quits at once, the guests never see a power button.
    for name in ["g3", "g4"] {
        g.start(name, None, "");
    }
    for name in ["g3", "g4"] {
        g.wait_for(name, &format!("CTYS-GUEST {name} up"), 60);
    }
    let (code, out, err, _) = cancel(&g, "-t qemu -a cancel=1:tst100,FORCE,POWEROFF:0");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("stack: destroy qemu:g3, qemu:g4"), "{out}");
    common::wait_until("g3 and g4 gone", 10, || g.pids().is_empty());
    assert!(!g.log("g3").contains("powerdown") && !g.log("g4").contains("powerdown"));

    // A guest that ignores its power button is named after TIMEOUT, exit 3.
    g.start("stuck", None, "ctys.powerbutton=ignore");
    g.wait_for("stuck", "CTYS-GUEST stuck up", 60);
    let (code, _, err, _) = cancel(&g, "-t pm -a cancel=1:tst100,POWEROFF:0,TIMEOUT:2");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("stack: still running after 2 s: qemu:stuck"), "{err}");
    assert!(g.log("stuck").contains("CTYS-GUEST stuck ignores the power button"), "{}", g.log("stuck"));
    assert_eq!(g.pids().len(), 1, "the stuck guest still runs");
    let (code, _, err) = split(g.ctys(&["-e", "ctys.err.must(ctys.qemu.find('stuck'):stop{ force = true, timeout = 10 })"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(g.pids().is_empty());
}

#[test]
fn start_refuses_what_it_cannot_run_and_qmp_speaks_to_real_qemu() {
    let g = Guests::new();
    let run = |chunk: &str| split(g.ctys(&["-e", chunk]).output().unwrap());
    // A missing QEMU: exit 2 with the apt-get line; a switch that does not answer: exit 2.
    let (code, _, err) = run("ctys.err.must(ctys.qemu.start{ name = 'x', qemu = 'qemu-system-nonexistent' })");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("qemu-system-nonexistent is missing; install it with: apt-get install qemu-system-x86"), "{err}");
    let nosw = g.base.path().join("nosuch");
    let (code, _, err) = run(&format!("ctys.err.must(ctys.qemu.start{{ name = 'x', switch = {:?} }})", nosw.display().to_string()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no vde_switch data socket"), "{err}");
    // A dead switch: its ctl socket is there, nobody listens.
    std::fs::create_dir(&nosw).unwrap();
    drop(UnixListener::bind(nosw.join("ctl")).unwrap());
    let (code, _, err) = run(&format!("ctys.err.must(ctys.qemu.start{{ name = 'x', switch = {:?} }})", nosw.display().to_string()));
    assert_eq!((code, err.contains("no switch answers")), (2, true), "{err}");
    for (chunk, want) in [
        ("ctys.qemu.start{ name = '../x' }", "bad argument 'name'"),
        ("ctys.qemu.start{ name = 'x', memory = 1 }", "bad argument 'memory'"),
        ("ctys.qemu.start{ name = 'x', mac = 'zz' }", "bad argument 'mac'"),
        ("ctys.qemu.start{ name = 'x', initrd = '/i' }", "bad argument 'kernel'"),
        ("ctys.qemu.start{ name = 'x', nmae = 1 }", "unknown option 'nmae'"),
    ] {
        let (code, _, err) = run(chunk);
        assert_eq!(code, 1, "{chunk}: {err}");
        assert!(err.contains(want), "{chunk}: {err}");
    }
    assert!(g.pids().is_empty() && !g.dir().join("x.pid").exists(), "nothing started");

    // QMP against the real QEMU: status, a refused command, the events of a power-down.
    g.start("q1", None, "");
    g.wait_for("q1", "CTYS-GUEST q1 up", 60);
    let (code, out, err) = run(
        "local g = ctys.qemu.find('q1')
         print(ctys.qemu.start{ name = 'q1', accel = 'tcg' })
         local q = assert(g:session())
         print(q:version():match('^%d+%.%d+%.%d+$') ~= nil, q:execute('query-status').status)
         print(q:execute('no-such-command'))
         print(q:execute('query-status', { 1, 2 }))
         assert(q:execute('system_powerdown'))
         print(q:event('SHUTDOWN', 20).data.reason)
         print(q:event(nil, 5))
         q:close()
         print(g:wait(10))",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("nil\tguest q1 is running already (pid ") && lines[0].ends_with("\texists"), "{out}");
    assert_eq!(lines[1], "true\trunning");
    assert!(lines[2].starts_with("nil\tqmp ") && lines[2].ends_with(": no-such-command: CommandNotFound: The command no-such-command has not been found\trefused"), "{out}");
    assert!(lines[3].starts_with("nil\tqmp ") && lines[3].ends_with("\trefused"), "{out}");
    assert_eq!(lines[4], "guest-shutdown");
    assert!(lines[5].starts_with("nil\tqmp ") && lines[5].ends_with("the socket was closed\tclosed"), "{out}");
    assert_eq!(lines[6], "true");
}

/// A unix socket that does `feed` with each peer, on a thread.
fn hostile(path: &std::path::Path, feed: fn(&mut std::os::unix::net::UnixStream)) {
    let l = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            feed(&mut s);
        }
    });
}

#[test]
fn a_qmp_socket_that_is_not_qmp_is_refused_in_bounded_time_and_memory() {
    let d = TempDir::new("qmp");
    let not_qmp = d.path().join("not-qmp");
    hostile(&not_qmp, |s| {
        let _ = s.write_all(b"VDE switch V.2.3.2\n");
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    let silent = d.path().join("silent");
    hostile(&silent, |_| std::thread::sleep(std::time::Duration::from_secs(10)));
    let flood = d.path().join("flood");
    hostile(&flood, |s| {
        let chunk = vec![b'{'; 1 << 20];
        for _ in 0..100 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let no_caps = d.path().join("no-caps");
    hostile(&no_caps, |s| {
        let _ = s.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n");
        std::thread::sleep(std::time::Duration::from_secs(10));
    });
    for (path, kind, within) in [(&not_qmp, "protocol", 2.0), (&silent, "timeout", 2.5), (&flood, "toolarge", 5.0), (&no_caps, "timeout", 2.5)] {
        let t0 = Instant::now();
        let o = bin_in(None, "ctys", d.path())
            .args(["-e", &format!("print(ctys.qmp.open({:?}, {{ timeout = 1 }}))", path.display().to_string())])
            .output()
            .unwrap();
        let (code, out, err) = split(o);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("nil\tqmp ") && out.trim_end().ends_with(&format!("\t{kind}")), "{}: {out}", path.display());
        assert!(t0.elapsed().as_secs_f64() < within, "{} took {:?}", path.display(), t0.elapsed());
    }
    // The 100 MB line: refused after 1 MiB; the process never held it.
    let (code, out, _) = split(
        bin_in(None, "ctys", d.path())
            .args(["-e", &format!("print(ctys.qmp.open({:?}, {{ timeout = 5 }})); print(collectgarbage('count') < 65536)", flood.display().to_string())])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("a line longer than 1048576 bytes\ttoolarge\ntrue\n"), "{out}");
    // Not a socket, and someone else's socket, are refused before a connection.
    let file = d.write("file", "x");
    let (_, out, _) = split(bin_in(None, "ctys", d.path()).args(["-e", &format!("print(ctys.qmp.open({:?}))", file.display().to_string())]).output().unwrap());
    assert!(out.contains("not a socket\tuntrusted"), "{out}");
    std::os::unix::fs::chown(&silent, Some(65534), None).unwrap();
    let (_, out, _) = split(bin_in(None, "ctys", d.path()).args(["-e", &format!("print(ctys.qmp.open({:?}))", silent.display().to_string())]).output().unwrap());
    assert!(out.trim_end().ends_with("\tuntrusted"), "{out}");
}

/// The host namespace `a` has `va` (10.99.0.1/24), the outside `b` has `vb` (10.99.0.2/24).
#[test]
fn a_guest_on_the_vnetctl_switch_pings_across_tap_bridge_and_veth() {
    if !privileged("a_guest_on_the_vnetctl_switch_pings_across_tap_bridge_and_veth") {
        return;
    }
    let pair = Pair::new(Some("10.99.0.2/24"));
    let g = Guests::new();
    let vnet = |args: &[&str]| {
        let mut c = bin_in(Some(&pair.a), "ctys-vnetctl", g.base.path());
        c.env("CTYS_SOCKBASE", g.base.path()).env_remove("SSH_CONNECTION").args(args);
        split(c.output().unwrap())
    };
    let (code, out, err) = vnet(&["create"]);
    assert_eq!(code, 0, "{out}{err}");
    // The manual's way: QEMUSOCK from `info`, given to QEMU's -nic vde,sock=.
    let (code, out, _) = vnet(&["info"]);
    assert_eq!(code, 0);
    let sock = out.lines().find_map(|l| l.strip_prefix("QEMUSOCK=")).expect("info prints QEMUSOCK=").to_string();
    assert_eq!(sock, g.base.path().join("vde_switch0.root").display().to_string());
    assert!(out.contains(&format!("\nQEMUMGMT={}\n", g.base.path().join("vde_mgmt0.root").display())), "{out}");
    g.start("net1", Some(std::path::Path::new(&sock)), "ctys.ip=10.99.0.50/24 ctys.ping=10.99.0.2");
    g.wait_for("net1", "CTYS-GUEST net1 ping 10.99.0.2 ok", 90);
    // And the other way: the outside namespace pings the guest.
    let (code, out, err) = split(
        bin_in(Some(&pair.b), "ctys", g.base.path())
            .args(["-e", "print(assert(ctys.probe.wait(ctys.probe.ping, { host = '10.99.0.50', timeout = 1 }, 10, 0.3)))"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "outside -> veth -> bridge -> TAP -> switch -> guest: {out}{err}");
    let (code, out, _) = vnet(&["-X", "ports"]);
    assert_eq!(code, 0);
    let guest_port = out.lines().find(|l| !l.contains(";tuntap;")).unwrap_or_else(|| panic!("the guest's port: {out}")).to_string();
    assert!(guest_port.contains(";active;") && guest_port.contains(";unix prog;"), "{out}");
    let (code, out, _) = vnet(&["check"]);
    assert_eq!((code, out.as_str()), (0, "VDE environment for USER=\"root\" => [OK]\n"));
    // cancel with the guest attached: named, its link gone, nothing left.
    let (code, out, err) = vnet(&["cancel"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("ctys-vnetctl: the switch still has 1 client(s), which lose their link: port "), "{err}");
    let (_, _, _) = split(g.ctys(&["-e", "ctys.err.must(ctys.qemu.find('net1'):stop{ force = true })"]).output().unwrap());
    let left: Vec<_> = std::fs::read_dir(g.base.path()).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with("vde_")).collect();
    assert!(left.is_empty(), "{left:?}");
    let links = String::from_utf8_lossy(&std::process::Command::new("ip").args(["-n", &pair.a, "-br", "link"]).output().unwrap().stdout).into_owned();
    assert!(!links.contains("tap0") && !links.contains("ctysbr0"), "{links}");
}
