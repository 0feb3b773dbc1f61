//! ctys-vnetctl against the real kernel and a real vde_switch (Debian vde2), in namespaces the
//! tests create: the host namespace has `va` (10.99.0.1/24, default route via 10.99.0.254), the
//! "outside" has `vb` (10.99.0.2/24); a third one plays the guest behind vde_plug.
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::{privileged, sh, Ns, Pair};
use common::{bin_in, split, TempDir};

struct Lab {
    pair: Pair,
    socks: TempDir,
}

impl Lab {
    fn new() -> Lab {
        let pair = Pair::new(Some("10.99.0.2/24"));
        sh(&["ip", "-n", &pair.a, "route", "add", "default", "via", "10.99.0.254"]);
        Lab { pair, socks: TempDir::new("vnet") }
    }

    /// ctys-vnetctl ARGS in the host namespace, sockets under the lab's own directory.
    fn vnet(&self, args: &[&str]) -> (i32, String, String) {
        split(self.cmd(args).output().unwrap())
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin_in(Some(&self.pair.a), "ctys-vnetctl", self.socks.path());
        c.env("CTYS_SOCKBASE", self.socks.path()).env_remove("SSH_CONNECTION").args(args);
        c
    }

    fn ip(&self, args: &[&str]) -> String {
        let o = Command::new("ip").args(["-n", &self.pair.a]).args(args).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn sock(&self, user: &str) -> std::path::PathBuf {
        self.socks.path().join(format!("vde_switch0.{user}"))
    }

    fn switch_pids(&self) -> Vec<String> {
        let o = Command::new("ip").args(["netns", "pids", &self.pair.a]).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "vde_switch"))
            .map(String::from)
            .collect()
    }
}

fn owner_of_link(ns: &str, link: &str) -> String {
    let o = Command::new("ip").args(["netns", "exec", ns, "cat", &format!("/sys/class/net/{link}/owner")]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    common::wait_until(what, 10, f)
}

#[test]
fn create_ports_data_path_check_cancel() {
    if !privileged("create_ports_data_path_check_cancel") {
        return;
    }
    let lab = Lab::new();
    let (code, out, err) = lab.vnet(&["-d", "1", "-u", "nobody", "create"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("created: TAP tap0 on bridge ctysbr0 (new, with va)"), "{out}");
    assert!(err.contains("move address 10.99.0.1/24 from va to ctysbr0") && err.contains("start vde_switch pid"), "-d says each step: {err}");
    // The bridge holds va and the TAP, and va's address and default route moved onto it.
    let links = lab.ip(&["-br", "link"]);
    let addrs = lab.ip(&["-br", "addr"]);
    assert!(lab.ip(&["link", "show", "va"]).contains("master ctysbr0"), "{links}");
    assert!(lab.ip(&["link", "show", "tap0"]).contains("master ctysbr0"), "{links}");
    assert!(addrs.lines().any(|l| l.starts_with("ctysbr0") && l.contains("10.99.0.1/24")), "{addrs}");
    assert!(lab.ip(&["route"]).contains("default via 10.99.0.254 dev ctysbr0"));
    assert_eq!(owner_of_link(&lab.pair.a, "tap0"), "65534", "the TAP belongs to -u nobody");
    let meta = std::fs::metadata(lab.sock("nobody")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (65534, 0o700));
    // A vde_plug client with its own TAP, moved into a third namespace: the guest.
    let guest = Ns::new("g");
    let plug_pid = lab.socks.path().join("plug.pid");
    let st = Command::new("ip")
        .args(["netns", "exec", &lab.pair.a, "vde_plug", "-d", "-p"])
        .arg(&plug_pid)
        .arg(format!("vde://{}", lab.sock("nobody").display()))
        .arg("tap://tapvde1")
        .status()
        .unwrap();
    assert!(st.success(), "vde_plug");
    wait_until("vde_plug's TAP", || lab.ip(&["-br", "link"]).contains("tapvde1"));
    sh(&["ip", "-n", &lab.pair.a, "link", "set", "tapvde1", "netns", &guest.0]);
    sh(&["ip", "-n", &guest.0, "addr", "add", "10.99.0.50/24", "dev", "tapvde1"]);
    sh(&["ip", "-n", &guest.0, "link", "set", "tapvde1", "up"]);
    let (code, out, _) = lab.vnet(&["-u", "nobody", "ports"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("SWITCH-PORTS:\nPort 0001 ") && out.contains("module tuntap      : tap0") && out.contains("module unix prog"), "{out}");
    let (_, out, _) = lab.vnet(&["-u", "nobody", "-X", "ports"]);
    assert!(out.starts_with("1;active;0;;tuntap;tap0\n") && out.contains(";unix prog;"), "{out}");
    // The data path: outside (vb) -> va -> ctysbr0 -> tap0 -> vde_switch -> vde_plug -> tapvde1.
    let (code, out, err) = split(
        bin_in(Some(&lab.pair.b), "ctys", lab.socks.path())
            .args(["-e", "print(assert(ctys.probe.wait(ctys.probe.ping, { host = '10.99.0.50', timeout = 1 }, 10, 0.3)))"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "ping through bridge, TAP, switch and vde_plug: {out}{err}");
    let (code, out, _) = lab.vnet(&["-u", "nobody", "check"]);
    assert_eq!((code, out.as_str()), (0, "VDE environment for USER=\"nobody\" => [OK]\n"));
    let (code, out, _) = lab.vnet(&["-u", "nobody", "info"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("SWITCH-INFO:\nVDE switch V.2.3.2\n") && out.contains("\npid "), "{out}");
    // create again: the running switch is reused, nothing new is made.
    let (code, out, _) = lab.vnet(&["-u", "nobody", "create"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("VDE switch for USER=\"nobody\" is running (pid ") && out.ends_with(": reused\n"), "{out}");
    assert!(!lab.ip(&["-br", "link"]).contains("tap1"));
    // list: this user's switch, as a table.
    let (_, out, _) = lab.vnet(&["-u", "nobody", "list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("switch") && lines[0].ends_with("| UID   | GID   | access    | machine-address"), "{out}");
    assert!(lines[2].contains("| 65534 | 65534 | rwx------ |"), "{out}");
    assert_eq!(lines.len(), 3, "only the switch directory: {out}");
    let (_, out, _) = lab.vnet(&["-u", "root", "list"]);
    assert_eq!(out.lines().count(), 2, "root has no switch: {out}");
    // cancel: switch, TAP, sockets, pid file gone; our bridge gone, va's address and route back.
    let (code, out, err) = lab.vnet(&["-u", "nobody", "cancel"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("cancelled: vde_switch pid ") && out.contains("TAP tap0") && out.contains("bridge ctysbr0 (addresses back on va)"), "{out}");
    assert!(lab.switch_pids().is_empty(), "no switch process");
    let links = lab.ip(&["-br", "link"]);
    assert!(!links.contains("tap0") && !links.contains("ctysbr0"), "{links}");
    assert!(lab.ip(&["-br", "addr"]).lines().any(|l| l.starts_with("va") && l.contains("10.99.0.1/24")));
    assert!(lab.ip(&["route"]).contains("default via 10.99.0.254 dev va"));
    let left: Vec<_> = std::fs::read_dir(lab.socks.path()).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with("vde_")).collect();
    assert!(left.is_empty(), "sockets, pid file or state left: {left:?}");
}

#[test]
fn cancel_after_kill_9_and_a_foreign_bridge_is_never_deleted() {
    if !privileged("cancel_after_kill_9_and_a_foreign_bridge_is_never_deleted") {
        return;
    }
    let lab = Lab::new();
    sh(&["ip", "-n", &lab.pair.a, "link", "add", "br0", "type", "bridge"]);
    sh(&["ip", "-n", &lab.pair.a, "link", "set", "br0", "up"]);
    let (code, out, err) = lab.vnet(&["-b", "br0", "-g", "nogroup", "create"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("created: TAP tap0 on bridge br0, vde_switch pid "), "{out}");
    // -g: the switch directory belongs to the group, with the setgid bit (rwx--S---).
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(lab.sock("root")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o2700);
    let (_, out, _) = lab.vnet(&["-X", "list"]);
    assert!(out.contains(";rwx--S---;"), "{out}");
    assert!(!lab.ip(&["link", "show", "va"]).contains("master"), "va stays out of a foreign bridge");
    let pids = lab.switch_pids();
    assert_eq!(pids.len(), 1);
    sh(&["kill", "-9", &pids[0]]);
    wait_until("the switch to die", || lab.switch_pids().is_empty());
    let (code, out, err) = lab.vnet(&["-d", "1", "cancel"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("TAP tap0") && out.contains("leftover file(s)"), "{out}");
    let links = lab.ip(&["-br", "link"]);
    assert!(links.contains("br0") && !links.contains("tap0"), "br0 stays, tap0 goes: {links}");
    assert!(std::fs::read_dir(lab.socks.path()).unwrap().next().is_none(), "nothing left on disk");
    // Nothing left: cancel again says so.
    let (code, out, _) = lab.vnet(&["cancel"]);
    assert_eq!((code, out.as_str()), (0, "nothing to cancel for USER=\"root\"\n"));
}

#[test]
fn refusals_and_errors() {
    if !privileged("refusals_and_errors") {
        return;
    }
    let lab = Lab::new();
    for (args, msg) in [
        (&["bogus"][..], "unknown command 'bogus'"),
        (&["-q", "info"][..], "unknown option '-q'"),
        (&["-u", "no-such-user-xyz", "create"][..], "no user named 'no-such-user-xyz'"),
        (&["-Z", "DOAS", "create"][..], "-Z takes SUDO or KSU"),
    ] {
        let (code, _, err) = lab.vnet(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    // The caller's SSH session arrives on va: no bridge over it without -f.
    let (code, _, err) = split(lab.cmd(&["create"]).env("SSH_CONNECTION", "10.99.0.2 50000 10.99.0.1 22").output().unwrap());
    assert_eq!(code, 1);
    assert!(err.contains("would cut the SSH session") && err.contains("-f"), "{err}");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0"), "nothing was made");
    // vde_switch missing from PATH: exit 2 before anything is made.
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.pair.a, "/usr/bin/env", "PATH=/nonexistent", env!("CARGO_BIN_EXE_ctys-vnetctl"), "create"])
        .env("CTYS_SOCKBASE", lab.socks.path())
        .env("CTYS_NO_DNS", "1");
    let (code, _, err) = split(c.output().unwrap());
    assert_eq!(code, 2);
    assert!(err.contains("vde_switch is not on PATH"), "{err}");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0"));
    // No switch: info exits 2; check says NOK and exits 1.
    let (code, _, err) = lab.vnet(&["info"]);
    assert_eq!(code, 2);
    assert!(err.contains("no VDE switch answers on"), "{err}");
    let (code, out, _) = lab.vnet(&["check"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("VDE environment for USER=\"root\" => [NOK]\n"), "{out}");
    // An unprivileged user: the kernel's EPERM, as a message that says what is needed, exit 2.
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.pair.a, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_ctys-vnetctl"), "create"])
        .env("CTYS_SOCKBASE", lab.socks.path())
        .env("HOME", lab.socks.path())
        .env("USER", "nobody")
        .env("CTYS_NO_DNS", "1");
    let (code, _, err) = split(c.output().unwrap());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs CAP_NET_ADMIN"), "{err}");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0"), "nothing half-done");
}

#[test]
fn dry_run_changes_nothing() {
    if !privileged("dry_run_changes_nothing") {
        return;
    }
    let lab = Lab::new();
    let (code, out, _) = lab.vnet(&["-n", "create"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("would create bridge ctysbr0 with va, moving 10.99.0.1/24 onto it\nwould create a TAP owned by root on ctysbr0"), "{out}");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0"));
    assert!(!Path::new(&lab.sock("root")).exists());
    // Files of ours at the switch's paths that no switch left: -n says nothing would go, and
    // neither -n nor a real create removes them.
    let precious = lab.socks.path().join("vde_switch0.root");
    std::fs::write(&precious, "data").unwrap();
    let pid = lab.socks.path().join("vde_switch0.root.pid");
    std::fs::write(&pid, "123\n").unwrap();
    let (code, out, err) = lab.vnet(&["-n", "create"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("vde_switch0.root is not what a vde_switch leaves"), "{err}");
    let (code, _, err) = lab.vnet(&["create"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "data");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0"), "nothing made");
    // A real leftover (a stale pid file alone) is named under -n and kept.
    std::fs::remove_file(&precious).unwrap();
    let (code, out, err) = lab.vnet(&["-n", "create"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("would remove the stale {}\n", pid.display())), "{out}");
    assert!(pid.exists());
}

#[test]
fn remote_hosts_run_the_same_command() {
    let sshd = common::sshd::Sshd::start(60, 2);
    let socks = TempDir::new("rvnet");
    let remote = format!("env CTYS_SOCKBASE={} CTYS_NO_DNS=1 {}", socks.path().display(), env!("CARGO_BIN_EXE_ctys-vnetctl"));
    let (code, out, err) = split(
        common::bin("ctys-vnetctl", sshd.home.path())
            .env("CTYS_REMOTE_VNETCTL", &remote)
            .args(["-r", &format!("{},{}", sshd.target(0), sshd.target(1)), "-X", "list"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "no switches: nothing listed");
    let (code, _, err) = split(
        common::bin("ctys-vnetctl", sshd.home.path())
            .env("CTYS_REMOTE_VNETCTL", &remote)
            .args(["-r", &sshd.target(0), "info"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "the remote exit value comes back: {err}");
    assert!(err.contains("no VDE switch answers on") && err.contains(&format!("ctys-vnetctl: {}: exit 2", sshd.target(0))), "{err}");
    // Bundled flags come apart: -nr HOST relays -n, never -r.
    let argv = socks.path().join("argv");
    let (code, _, err) = split(
        common::bin("ctys-vnetctl", sshd.home.path())
            .env("CTYS_REMOTE_VNETCTL", format!("printf '%s\\n' > {}", argv.display()))
            .args(["-nr", &sshd.target(0), "-X", "list"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&argv).unwrap(), "-n\n-X\nlist\n");
}

#[test]
fn net_primitives_in_a_namespace() {
    if !privileged("net_primitives_in_a_namespace") {
        return;
    }
    let ns = Ns::new("net");
    let home = TempDir::new("net");
    let chunk = r#"
        local net = ctys.net
        -- A name the kernel would refuse never reaches netlink, which keeps working.
        print("huge", select(3, ctys.core.net_bridge_add(string.rep("x", 100000))), select(3, ctys.core.net_link_del("a/b")))
        assert(net.bridge_add("br7"))
        print("again", select(3, net.bridge_add("br7")))
        local taps = {}
        for i = 1, 5 do taps[i] = assert(net.tap_add{ user = "nobody", group = "nogroup" }) end
        print("taps", table.concat(taps, " "))
        for _, t in ipairs(taps) do assert(net.link_set(t, { up = true, master = "br7", mtu = 1400 })) end
        assert(net.link_set("br7", { up = true }))
        assert(net.addr_add("br7", "10.7.0.1/24"))
        assert(net.route_add({ dst = "10.8.0.0/16", gateway = "10.7.0.254", metric = 7 }, "br7"))
        local l = net.link("tap3")
        print("tap3", l.kind, l.master, l.mtu, l.up)
        print("br7", net.link("br7").addrs[1])
        for _, r in ipairs(net.routes()) do if r.dst == "10.8.0.0/16" then print("route", r.gateway, r.dev, r.metric, r.protocol) end end
        assert(net.route_del({ dst = "10.8.0.0/16", gateway = "10.7.0.254", metric = 7 }, "br7"))
        assert(net.addr_del("br7", "10.7.0.1/24"))
        print("missing", select(3, net.addr_del("br7", "10.7.0.1/24")), select(3, net.link_del("nosuch")))
        table.insert(taps, "br7")
        assert(net.links_del(taps))
        local left = {}
        for _, x in ipairs(net.links()) do left[#left + 1] = x.name end
        print("left", table.concat(left, " "))
    "#;
    let (code, out, err) = split(bin_in(Some(&ns.0), "ctys", home.path()).args(["-e", chunk]).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "huge\tinvalid\tinvalid\nagain\texists\ntaps\ttap0 tap1 tap2 tap3 tap4\ntap3\ttun\tbr7\t1400\ttrue\nbr7\t10.7.0.1/24\n\
         route\t10.7.0.254\tbr7\t7\tstatic\nmissing\tnodevice\tnodevice\nleft\tlo\n"
    );
    let (code, _, err) = split(bin_in(Some(&ns.0), "ctys", home.path()).args(["-e", "ctys.net.addr_add('lo', '10.0.0.1')"]).output().unwrap());
    assert_eq!(code, 1);
    assert!(err.contains("bad argument 'addr': 10.0.0.1 is not an address with a prefix"), "{err}");
    let (code, _, err) = split(bin_in(Some(&ns.0), "ctys", home.path()).args(["-e", "ctys.net.bridge_add(string.rep('x', 100000))"]).output().unwrap());
    assert_eq!(code, 1);
    assert!(err.contains("bad argument 'name': bad interface name") && err.len() < 400, "{err}");
}

/// The state file root's vnetctl keeps for a switch directory (under /run/ctys/vnetctl).
fn root_state(sock: &Path) -> std::path::PathBuf {
    let name = sock.display().to_string().replace('%', "%25").replace('/', "%2F");
    Path::new("/run/ctys/vnetctl").join(format!("{name}.state"))
}

fn chown_nobody(p: &Path) {
    std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
}

#[test]
fn planted_state_pid_files_and_sockets_are_not_obeyed() {
    if !privileged("planted_state_pid_files_and_sockets_are_not_obeyed") {
        return;
    }
    let lab = Lab::new();
    // A production bridge with its uplink and address: what a planted state file names.
    sh(&["ip", "-n", &lab.pair.a, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p"]);
    sh(&["ip", "-n", &lab.pair.a, "link", "add", "prodbr0", "type", "bridge"]);
    sh(&["ip", "-n", &lab.pair.a, "link", "set", "uplink0", "master", "prodbr0", "up"]);
    sh(&["ip", "-n", &lab.pair.a, "link", "set", "prodbr0", "up"]);
    sh(&["ip", "-n", &lab.pair.a, "addr", "add", "10.42.0.1/24", "dev", "prodbr0"]);
    let plant = "{bridge=\"prodbr0\",created_bridge=true,iface=\"uplink0\",tap=\"uplink0\"}";
    let beside = lab.socks.path().join("vde_switch0.root.ctys");
    std::fs::write(&beside, plant).unwrap();
    chown_nobody(&beside);
    // Root's state lives in /run/ctys: the planted file beside the sockets is never read.
    let (code, out, err) = lab.vnet(&["cancel"]);
    assert_eq!((code, out.as_str()), (0, "nothing to cancel for USER=\"root\"\n"), "{err}");
    let keep = |what: &str| {
        assert!(lab.ip(&["-br", "addr"]).lines().any(|l| l.starts_with("prodbr0") && l.contains("10.42.0.1/24")), "{what}");
        assert!(lab.ip(&["link", "show", "uplink0"]).contains("master prodbr0"), "{what}");
    };
    keep("a planted state file beside the sockets");
    // One in root's own place that root does not own (or that others may write): refused, exit 2.
    let st = root_state(&lab.sock("root"));
    std::fs::create_dir_all(st.parent().unwrap()).unwrap();
    std::fs::write(&st, plant).unwrap();
    chown_nobody(&st);
    let (code, _, err) = lab.vnet(&["cancel"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is owned by uid 65534, not by you or root; not trusted") && err.contains("nothing done"), "{err}");
    std::os::unix::fs::chown(&st, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&st, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let (code, _, err) = lab.vnet(&["cancel"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("writable by others (mode 0666)"), "{err}");
    std::fs::remove_file(&st).unwrap();
    keep("a planted state file in /run/ctys");
    // A pid file that is not root's names nothing to kill; a management socket that is not
    // root's (nor the -u user's) is not talked to.
    let victim = Command::new("sleep").arg("30").spawn().unwrap();
    let pidfile = lab.socks.path().join("vde_switch0.root.pid");
    std::fs::write(&pidfile, format!("{}\n", victim.id())).unwrap();
    chown_nobody(&pidfile);
    let (code, _, err) = lab.vnet(&["cancel"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("vde_switch0.root.pid is owned by uid 65534"), "{err}");
    assert!(Path::new(&format!("/proc/{}", victim.id())).exists(), "nothing killed");
    std::fs::remove_file(&pidfile).unwrap();
    let mgmt = lab.socks.path().join("vde_mgmt0.root");
    let _listener = std::os::unix::net::UnixListener::bind(&mgmt).unwrap();
    chown_nobody(&mgmt);
    let (code, _, err) = lab.vnet(&["info"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("vde_mgmt0.root is owned by uid 65534"), "{err}");
    // create stops at a leftover that is not root's, before anything is made.
    let (code, _, err) = lab.vnet(&["create"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is owned by uid 65534"), "{err}");
    assert!(!lab.ip(&["-br", "link"]).contains("ctysbr0") && !lab.ip(&["-br", "link"]).contains("tap0"), "nothing made");
    keep("the end");
    let mut victim = victim;
    let _ = victim.kill();
    let _ = victim.wait();
}

/// A fake management socket: it prints a banner, then feeds each connection `feed`.
fn fake_switch(path: &Path, feed: fn(&mut std::os::unix::net::UnixStream)) {
    let l = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = s.write_all(b"VDE switch V.2.3.2\n(C) Virtual Square Team\n\nvde$ ");
                feed(&mut s);
            });
        }
    });
}

#[test]
fn a_hostile_management_socket_is_read_with_bounds() {
    let dir = TempDir::new("fakevde");
    let flood = dir.path().join("flood");
    fake_switch(&flood, |s| {
        use std::io::Write;
        let chunk = vec![b'x'; 65536];
        while s.write_all(&chunk).is_ok() {}
    });
    let slow = dir.path().join("slow");
    fake_switch(&slow, |s| {
        use std::io::Write;
        while s.write_all(b"y").is_ok() {
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    for (mgmt, msg) in [(&flood, "a reply of more than 1048576 bytes"), (&slow, "no prompt within 1 s")] {
        let t0 = Instant::now();
        let o = common::bin("ctys-vnetctl", dir.path()).env("CTYS_SOCKBASE", dir.path()).arg("-S").arg(mgmt).arg("info").output().unwrap();
        let (code, _, err) = split(o);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(msg), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(10), "bounded: {:?}", t0.elapsed());
    }
}

#[test]
fn bad_socket_paths_are_refused_before_anything_is_made() {
    if !privileged("bad_socket_paths_are_refused_before_anything_is_made") {
        return;
    }
    let lab = Lab::new();
    let long = lab.socks.path().join("d".repeat(150));
    // A directory anyone may write into, without the sticky bit: anyone could swap the socket.
    let open = lab.socks.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (c, _, err) = lab.vnet(&["-s", open.join("sw").to_str().unwrap(), "create"]);
    assert_eq!(c, 2, "{err}");
    assert!(err.contains("is writable by everyone and not sticky (mode 0777); not trusted"), "{err}");
    std::fs::remove_dir(&open).unwrap();
    for (args, code, msg) in [
        (vec!["-S", "/nonexistent/dir/mgmt", "create"], 2, "/nonexistent/dir/mgmt: no directory /nonexistent/dir"),
        (vec!["-s", long.to_str().unwrap(), "create"], 1, "longer than a unix socket path allows"),
        (vec!["-S", long.to_str().unwrap(), "create"], 1, "longer than a unix socket path allows"),
    ] {
        let (c, out, err) = lab.vnet(&args);
        assert_eq!(c, code, "{args:?}: {out}{err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        let links = lab.ip(&["-br", "link"]);
        assert!(!links.contains("ctysbr0") && !links.contains("tap0"), "{args:?}: {links}");
        assert!(lab.switch_pids().is_empty(), "{args:?}: a switch runs");
        assert_eq!(std::fs::read_dir(lab.socks.path()).unwrap().count(), 0, "{args:?}: files left");
    }
}
