//! Fan-out through gateways (a topology) against real sshds in network namespaces: a
//! controller namespace that reaches four gateway namespaces but not the leaves; gw1 and gw2
//! both reach 128 leaves (one sshd on 128 addresses of a leaf namespace), gw3 and gw4 128
//! others; gw5, behind gw1 only, reaches 4 more (two levels). Each gateway runs this build's
//! `ctys --gateway`, with the test's HOME (its ssh config, key and known_hosts). Needs root.
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::netns::{privileged, sh, Ns};
use common::sshd::Sshd;
use common::{bin_in, split, TempDir};

struct Lab {
    ctl: Ns,
    gws: Vec<Ns>,
    _leaves: Vec<Ns>,
    _sshds: Vec<Sshd>,
    home: TempDir,
    topology: std::path::PathBuf,
}

fn link(a: &str, a_dev: &str, a_cidr: &str, b: &str, b_dev: &str, b_cidr: &str) {
    sh(&["ip", "link", "add", a_dev, "netns", a, "type", "veth", "peer", "name", b_dev, "netns", b]);
    for (ns, dev, cidr) in [(a, a_dev, a_cidr), (b, b_dev, b_cidr)] {
        sh(&["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
        sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

impl Lab {
    fn new() -> Lab {
        let home = TempDir::new("treehome");
        let ctl = Ns::new("tc");
        let gws: Vec<Ns> = (1..=5).map(|_| Ns::new("tg")).collect();
        let leaves: Vec<Ns> = (0..3).map(|_| Ns::new("tl")).collect();
        for k in 1..=4 {
            link(&ctl.0, &format!("g{k}"), &format!("10.90.{k}.1/24"), &gws[k - 1].0, "u0", &format!("10.90.{k}.2/24"));
        }
        // gw1, gw2 -> leaves A (10.91.1.x on its lo); gw3, gw4 -> leaves B (10.91.2.x).
        for k in 1..=4 {
            let l = &leaves[(k - 1) / 2].0;
            link(&gws[k - 1].0, "dn", &format!("10.92.{k}.1/24"), l, &format!("a{k}"), &format!("10.92.{k}.2/24"));
            sh(&["ip", "-n", &gws[k - 1].0, "route", "add", &format!("10.91.{}.0/24", (k + 1) / 2), "via", &format!("10.92.{k}.2")]);
        }
        for (j, l) in leaves[..2].iter().enumerate() {
            for i in 1..=128 {
                sh(&["ip", "-n", &l.0, "addr", "add", &format!("10.91.{}.{i}/32", j + 1), "dev", "lo"]);
            }
        }
        // gw5 behind gw1 only; 4 leaves behind gw5.
        link(&gws[0].0, "d5", "10.93.1.1/24", &gws[4].0, "u0", "10.93.1.2/24");
        link(&gws[4].0, "dn", "10.94.1.1/24", &leaves[2].0, "a0", "10.94.1.2/24");
        for i in 11..=14 {
            sh(&["ip", "-n", &leaves[2].0, "addr", "add", &format!("10.94.1.{i}/24"), "dev", "a0"]);
        }
        // The gateways' ctys read this HOME (sshd's SetEnv), as the controller's does.
        let env = format!("HOME={} CTYS_NO_DNS=1", home.path().display());
        let mut sshds = Vec::new();
        for (k, g) in gws.iter().enumerate() {
            let addr = if k == 4 { "10.93.1.2".to_string() } else { format!("10.90.{}.2", k + 1) };
            sshds.push(Sshd::start_full(vec![addr], 22, Some(&g.0), &env));
        }
        for (j, l) in leaves[..2].iter().enumerate() {
            sshds.push(Sshd::start_full((1..=128).map(|i| format!("10.91.{}.{i}", j + 1)).collect(), 22, Some(&l.0), ""));
        }
        sshds.push(Sshd::start_full((11..=14).map(|i| format!("10.94.1.{i}")).collect(), 22, Some(&leaves[2].0), ""));
        // One client key for every sshd; every host key known.
        let key = home.path().join(".ssh/id_ed25519");
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::copy(sshds[0].home.path().join(".ssh/id_ed25519"), &key).unwrap();
        let public = std::fs::read(sshds[0].home.path().join(".ssh/id_ed25519.pub")).unwrap();
        let mut known = String::new();
        for s in &sshds {
            std::fs::write(s.dir.path().join("authorized_keys"), &public).unwrap();
            for a in &s.addrs {
                known += &s.known_line(a);
            }
        }
        home.write(".ssh/known_hosts", &known);
        let mut cfg = String::new();
        for k in 1..=4 {
            cfg += &format!("Host gw{k}\n  HostName 10.90.{k}.2\n");
        }
        cfg += "Host gw5\n  HostName 10.93.1.2\n";
        for n in 1..=256 {
            cfg += &format!("Host leaf{n:03}\n  HostName 10.91.{}.{}\n", (n - 1) / 128 + 1, (n - 1) % 128 + 1);
        }
        for i in 1..=4 {
            cfg += &format!("Host deep{i}\n  HostName 10.94.1.{}\n", 10 + i);
        }
        let h = home.path().display();
        cfg += &format!("Host *\n  User root\n  IdentityFile {h}/.ssh/id_ed25519\n  UserKnownHostsFile {h}/.ssh/known_hosts\n  ConnectTimeout 3\n");
        home.write(".ssh/config", &cfg);
        let topology = home.write(
            "topology.conf",
            &format!("# the test's tree\n[routes]\n{}: gw[1-4]\ngw[1-2]: leaf[001-128]\ngw[3-4]: leaf[129-256]\ngw1: gw5\ngw5: deep[1-4]\n", hostname()),
        );
        Lab { ctl, gws, _leaves: leaves, _sshds: sshds, home, topology }
    }

    /// ctys-exec in namespace `ns` with the test's HOME and this build as the gateways' ctys.
    fn exec_in(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = bin_in(Some(ns), "ctys-exec", self.home.path());
        c.env("CTYS_REMOTE_CMD", env!("CARGO_BIN_EXE_ctys")).args(args).stdin(Stdio::null());
        c
    }

    fn exec(&self, args: &[&str]) -> (i32, String, String) {
        let topo = self.topology.display().to_string();
        let mut full = vec!["--topology", topo.as_str()];
        full.extend_from_slice(args);
        split(self.exec_in(&self.ctl.0, &full).output().unwrap())
    }
}

fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

const WHO: &str = "echo $SSH_CONNECTION | cut -d' ' -f3";

#[test]
fn through_gateways_as_flat_and_honest_when_they_fail() {
    if !privileged("through_gateways_as_flat_and_honest_when_they_fail") {
        return;
    }
    let lab = Lab::new();
    // The controller cannot reach a leaf itself.
    let (code, _, err) = split(lab.exec_in(&lab.ctl.0, &["--topology", "none", "-w", "leaf001", "-t", "2", "true"]).output().unwrap());
    assert_eq!(code, 255, "{err}");

    // 256 leaves and 4 two levels down: every one answers, the same lines as a flat run from
    // the gateways that reach them.
    let t0 = Instant::now();
    let (code, tree_out, err) = lab.exec(&["-w", "leaf[001-256],deep[1-4]", WHO]);
    let took = t0.elapsed();
    assert_eq!(code, 0, "{err}");
    let mut flat = String::new();
    for (ns, hosts) in [(&lab.gws[0].0, "leaf[001-128]"), (&lab.gws[2].0, "leaf[129-256]"), (&lab.gws[4].0, "deep[1-4]")] {
        let (code, out, err) = split(lab.exec_in(ns, &["-w", hosts, WHO]).output().unwrap());
        assert_eq!(code, 0, "{ns}: {err}");
        flat += &out;
    }
    assert_eq!(sorted(&tree_out), sorted(&flat));
    assert_eq!(tree_out.lines().count(), 260);
    assert!(tree_out.contains("deep3: 10.94.1.13\n") && tree_out.contains("leaf200: 10.91.2.72\n"), "{tree_out}");
    eprintln!("260 hosts through the tree: {took:?}");

    // The relay of ctys actions follows CTYS_TOPOLOGY as well (the CLI plugin, and a PM
    // action run by the ctys on a leaf: its dry run there).
    let mut c = bin_in(Some(&lab.ctl.0), "ctys", lab.home.path());
    c.env("CTYS_REMOTE_CMD", format!("env HOME={} {}", lab.home.path().display(), env!("CARGO_BIN_EXE_ctys"))).env("CTYS_TOPOLOGY", &lab.topology);
    let (code, out, err) = split(c.args(["-t", "cli", "-a", "create=cmd:echo relayed", "leaf003", "deep2"]).stdin(Stdio::null()).output().unwrap());
    assert_eq!((code, sorted(&out)), (0, vec!["deep2: relayed".to_string(), "leaf003: relayed".to_string()]), "{err}");
    let mut c = bin_in(Some(&lab.ctl.0), "ctys", lab.home.path());
    c.env("CTYS_REMOTE_CMD", format!("env HOME={} {}", lab.home.path().display(), env!("CARGO_BIN_EXE_ctys"))).env("CTYS_TOPOLOGY", &lab.topology);
    let (code, out, err) = split(c.args(["-t", "pm", "-a", "create=wol,m:02:00:00:00:00:01,ping:off,sshping:off", "--dry-run", "leaf250"]).stdin(Stdio::null()).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    // It ran in leaf250's namespace: the interfaces there are a3 and a4 (a dry run sends nothing).
    assert!(out.contains("would send raw frame") && (out.contains(" on a3,") || out.contains(" on a4,")), "{out}");

    // A copy through the gateways (staged once on each, removed after): every host has it.
    let src = lab.home.write("payload/tool.sh", "#!/bin/sh\necho payload\n");
    let dest = format!("/tmp/ctys-tree-copy-{}/", std::process::id());
    let (code, out, err) = lab.exec(&["-w", "leaf[001-002,200],deep4", "--copy", src.to_str().unwrap(), "--dest", &dest]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().filter(|l| l.contains(": copied 1 file(s), 23 bytes: ") && l.ends_with("tool.sh")).count(), 4, "{out}");
    // The leaves share this machine's filesystem: what arrived is there.
    assert_eq!(std::fs::read_to_string(format!("{dest}tool.sh")).unwrap(), "#!/bin/sh\necho payload\n");
    std::fs::remove_dir_all(&dest).unwrap();
    let staged: Vec<_> = std::fs::read_dir("/tmp").unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".ctys-stage-")).collect();
    assert!(staged.is_empty(), "staging directories left: {staged:?}");

    // --json says the same per host, in input order; -b gathers across gateways.
    let (_, out, _) = lab.exec(&["-w", "leaf[127-130]", "--json", "echo same"]);
    let hosts: Vec<&str> = out.lines().map(|l| l.split("\"host\":\"").nth(1).unwrap().split('"').next().unwrap()).collect();
    assert_eq!(hosts, ["leaf127", "leaf128", "leaf129", "leaf130"]);
    let (_, out, _) = lab.exec(&["-w", "leaf[127-130]", "-b", "echo same"]);
    assert_eq!(out, "---------------\nleaf[127-130] (4)\n---------------\nsame\n", "{out}");

    // A leaf that hangs: its timeout holds through the gateway; the others answer.
    let t0 = Instant::now();
    let (code, _, err) = lab.exec(&["-w", "leaf[001-004]", "-u", "2", "[ $(echo $SSH_CONNECTION | cut -d' ' -f3) = 10.91.1.2 ] && sleep 60; echo ok"]);
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("leaf002") && err.contains("timed out"), "{err}");

    // gw1's sshd gone: its leaves go through gw2, nothing is lost; deep[1-4] have no other way.
    sh(&["ip", "-n", &lab.gws[0].0, "link", "set", "u0", "down"]);
    let (code, out, err) = lab.exec(&["-w", "leaf[001-128],deep1", "--json", WHO]);
    assert_eq!(code, 255, "{err}");
    assert_eq!(out.lines().filter(|l| l.contains("\"status\":0")).count(), 128, "{out}");
    let deep = out.lines().find(|l| l.contains("\"host\":\"deep1\"")).unwrap();
    assert!(deep.contains("\"kind\":\"gateway\"") && deep.contains("no gateway reached it"), "{deep}");
    sh(&["ip", "-n", &lab.gws[0].0, "link", "set", "u0", "up"]);

    // Both gateways of leaves B down: every one of them fails with kind gateway, in order.
    for k in [2, 3] {
        sh(&["ip", "-n", &lab.gws[k].0, "link", "set", "u0", "down"]);
    }
    let (code, out, _) = lab.exec(&["-w", "leaf[128-131]", "--json", "true"]);
    assert_eq!(code, 255);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("\"host\":\"leaf128\"") && lines[0].contains("\"status\":0"), "{out}");
    for l in &lines[1..] {
        assert!(l.contains("\"kind\":\"gateway\""), "{l}");
    }
    for k in [2, 3] {
        sh(&["ip", "-n", &lab.gws[k].0, "link", "set", "u0", "up"]);
    }
}

#[test]
fn a_gateway_killed_mid_run_and_ctrl_c_through_the_tree() {
    if !privileged("a_gateway_killed_mid_run_and_ctrl_c_through_the_tree") {
        return;
    }
    let lab = Lab::new();
    // gw3's ctys killed while its leaves sleep: they fail with kind gateway (they may have run),
    // gw4's answer; nothing hangs.
    let topo = lab.topology.display().to_string();
    let child = lab.exec_in(&lab.ctl.0, &["--topology", &topo, "-w", "leaf[129-136]", "--json", "sleep 3; echo done"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let gw3 = &lab.gws[2].0;
    common::wait_until("gw3's gateway to start", 20, || gateway_pids(gw3).len() == 1);
    std::thread::sleep(Duration::from_millis(500));
    for p in gateway_pids(gw3) {
        sh(&["kill", "-KILL", &p]);
    }
    let t0 = Instant::now();
    let (code, out, err) = split(child.wait_with_output().unwrap());
    assert!(t0.elapsed() < Duration::from_secs(15));
    assert_eq!(code, 255, "{err}");
    let gateway = out.lines().filter(|l| l.contains("\"kind\":\"gateway\"") && l.contains("may have run")).count();
    let done = out.lines().filter(|l| l.contains("\"status\":0")).count();
    assert_eq!((gateway, done, out.lines().count()), (4, 4, 8), "{out}");

    // Ctrl-C, SIGTERM or SIGHUP at the controller: every level ends its commands (no sleep
    // left on the leaves).
    use nix::sys::signal::Signal;
    for (sig, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let mut child = lab.exec_in(&lab.ctl.0, &["--topology", &topo, "-w", "leaf[001-004],deep[1-2]", "sleep 60"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        common::wait_until("the leaves' sleeps", 20, || sleeps(&lab._leaves[0].0) == 4 && sleeps(&lab._leaves[2].0) == 2);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{sig}");
        common::wait_until("the leaves' sleeps to end", 10, || sleeps(&lab._leaves[0].0) == 0 && sleeps(&lab._leaves[2].0) == 0);
    }
    for g in &lab.gws {
        assert!(gateway_pids(&g.0).is_empty(), "a gateway still runs in {}", g.0);
    }
}

#[test]
fn a_gateway_without_ctys_says_so_and_works_after_ctys_distribute() {
    if !privileged("a_gateway_without_ctys_says_so_and_works_after_ctys_distribute") {
        return;
    }
    let lab = Lab::new();
    let topo = lab.topology.display().to_string();
    // No CTYS_REMOTE_CMD: the gateways look for ctys on their PATH, then in ~/.ctys/bin.
    let run = || {
        let mut c = lab.exec_in(&lab.ctl.0, &["--topology", &topo, "-w", "leaf[001-002,129]", "--json", "true"]);
        split(c.env_remove("CTYS_REMOTE_CMD").output().unwrap())
    };
    let (code, out, _) = run();
    assert_eq!(code, 255);
    assert_eq!(out.lines().filter(|l| l.contains("\"kind\":\"gateway\"") && l.contains("no ctys gateway there (exit 127")).count(), 3, "{out}");
    // Something else answering as the gateway: a frame of 4 GiB, an echo of the request. Each
    // is named, at once, and no host is dropped.
    for (cmd, says) in [(r#"sh -c 'printf "\377\377\377\377O"; exec cat >/dev/null' x"#, "a frame of 4294967295 bytes"), ("sh -c 'exec cat' x", "an unknown frame kind 0x51")] {
        let mut c = lab.exec_in(&lab.ctl.0, &["--topology", &topo, "-w", "leaf[001-002,129]", "--json", "true"]);
        let (code, out, _) = split(c.env("CTYS_REMOTE_CMD", cmd).output().unwrap());
        assert_eq!(code, 255);
        assert_eq!(out.lines().filter(|l| l.contains("\"kind\":\"gateway\"") && l.contains(says)).count(), 3, "{cmd}: {out}");
    }
    let mut d = bin_in(Some(&lab.ctl.0), "ctys-distribute", lab.home.path());
    let (code, out, err) = split(d.args(["-w", "gw[1-4]"]).stdin(Stdio::null()).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().filter(|l| l.contains("\"status\":0")).count(), 3, "{out}");
    // Without --topology or CTYS_TOPOLOGY: ~/.ctys/topology.conf when there is one.
    std::fs::create_dir_all(lab.home.path().join(".ctys")).unwrap();
    std::fs::copy(&lab.topology, lab.home.path().join(".ctys/topology.conf")).unwrap();
    let mut c = lab.exec_in(&lab.ctl.0, &["-w", "leaf[003,130],deep1", "--json", "true"]);
    let (code, out, err) = split(c.env_remove("CTYS_TOPOLOGY").output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
}

/// The pids of ctys processes in namespace `ns` (`ctys --gateway`).
fn gateway_pids(ns: &str) -> Vec<String> {
    pids_named(ns, "ctys")
}

fn sleeps(ns: &str) -> usize {
    pids_named(ns, "sleep").len()
}

fn pids_named(ns: &str, comm: &str) -> Vec<String> {
    let o = Command::new("ip").args(["netns", "pids", ns]).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim() == comm)
        .map(String::from)
        .collect()
}
