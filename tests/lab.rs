//! The sandbox lab and its tour as the integration test of everything: each step's effect is
//! read back independently (the magic packet on the wire, the BMCs through ipmitool, the TAP on
//! lab02's bridge, the group command's output, lab01's processes gone), and `lab down` leaves no
//! namespace, process or file, also after `up` failed half-way. Needs root.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::lab::{ipmitool_power, Lab};
use common::netns::{privileged, Capture};
use common::{bin, split, TempDir};

/// lab03's power as its Redfish BMC reports it, read with curl (the password on stdin).
fn redfish_power(lab: &Lab) -> String {
    let creds = lab.file("home/.ctys/ipmi/credentials");
    let password = creds.lines().find(|l| l.starts_with("10.77.0.103 ")).and_then(|l| l.split(' ').nth(2)).unwrap().to_string();
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.ns(0), "curl", "-s", "-m", "10", "-K", "-", "--cacert"]).arg(lab.dir.join("m3/bmc/cert.pem"));
    c.arg("https://10.77.0.103/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-7ab000000003");
    let mut child = c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("user = \"admin:{password}\"\n").as_bytes()).unwrap();
    let body = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string();
    body.split("\"PowerState\": \"").nth(1).and_then(|r| r.split('"').next()).unwrap_or(&body).to_string()
}

#[test]
fn the_tour_does_what_each_step_says_and_down_leaves_nothing() {
    if !privileged("the_tour_does_what_each_step_says_and_down_leaves_nothing") {
        return;
    }
    let lab = Lab::new("lt");
    let (code, out, err) = lab.ctys(&["up", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, status, _) = lab.ctys(&["status"]);
    assert_eq!(status.lines().filter(|l| l.contains(" off ") && l.contains(" up 10.77.0.10")).count(), 2, "{status}");
    assert!(status.lines().any(|l| l.starts_with("lab03 ") && l.contains(" off ") && l.contains(" up redfish://10.77.0.103 ")), "{status}");
    assert_eq!(redfish_power(&lab), "Off");
    let pcap = lab.keep.path().join("wol.pcap");
    let capture = Capture::start(&lab.ns(0), "labbr0", &pcap, "ether proto 0x0842");
    let tour = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab-tour.lua");
    let (code, out, err) = lab.ctys(&["exec", "ctys", tour]);
    assert_eq!(code, 0, "{out}{err}");

    // 1. The magic packet for lab01 on the wire, and lab01 answered.
    let frames = capture.frames(1);
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!((&f[..6], &f[12..14]), (&[0xff; 6][..], &[0x08, 0x42][..]));
    let mac = [0x02, 0x77, 0, 0, 0, 1];
    assert_eq!(&f[14..20], &[0xff; 6]);
    assert!((0..16).all(|k| f[20 + 6 * k..26 + 6 * k] == mac), "16 copies of lab01's MAC");
    assert!(out.contains("CREATE lab01: up\n"), "{out}");
    // 2. lab02: powered on, cycled (off, then on), on now; lab01's BMC says off after CANCEL.
    let chassis: Vec<String> = lab.file("m2/bmc/chassis.log").lines().map(|l| l.split_once(' ').unwrap().1.to_string()).collect();
    assert_eq!(chassis, ["power 1", "power 0", "power 1"]);
    assert_eq!(ipmitool_power(&lab, "10.77.0.102"), "Chassis Power is on");
    assert_eq!(ipmitool_power(&lab, "10.77.0.101"), "Chassis Power is off");
    // 3. lab02: the TAP on the bridge ctys made, with a vde_switch running there.
    let links = String::from_utf8(Command::new("ip").args(["-n", &lab.ns(2), "-o", "link", "show", "master", "ctysbr0"]).output().unwrap().stdout).unwrap();
    assert!(links.contains(" tap0:") && links.contains(" eth0@"), "{links}");
    let pids = String::from_utf8(Command::new("ip").args(["netns", "pids", &lab.ns(2)]).output().unwrap().stdout).unwrap();
    assert!(pids.lines().any(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim() == "vde_switch"), "no vde_switch on lab02");
    // 4. A QEMU guest on lab02's switch pinged lab01 (through TAP, bridge and lab02's eth0).
    assert!(out.contains("QEMUSOCK=") && out.contains("wrote on its serial console: CTYS-GUEST vm1 ping 10.77.0.1 ok"), "{out}");
    // The group command's output, per host.
    for line in ["lab01: eth0 10.77.0.1/24", "lab02: ctysbr0 10.77.0.2/24", "lab03: eth0 10.77.0.3/24"] {
        assert!(out.contains(line), "{line}: {out}");
    }
    // lab03 through Redfish: its BMC says On, and it told the lab's notifier, which switched it.
    assert!(out.contains("CREATE lab03: redfish: powered on through the BMC redfish://10.77.0.103\n"), "{out}");
    assert_eq!(redfish_power(&lab), "On");
    assert!(lab.file("log/notify.log").contains("\"PUT / HTTP/1.1\" 204"), "{}", lab.file("log/notify.log"));
    // lab01's serial console, through its BMC: a command ran there.
    assert!(out.contains("lab01's serial line answered: serial: ") && out.contains("10.77.0.1/24"), "{out}");
    // The machine database from the machines: collect's diff adds what each host said of
    // itself (its OS, its NIC), the BMC lab01 reads in band is the one the database names;
    // vping and status see all three on.
    assert!(out.contains("+lab01 mac=02:77:00:00:00:01 ip=10.77.0.1 bmc=10.77.0.101 bmc_user=admin iface=labbr0 arch="), "{out}");
    assert!(out.contains("(not written: --diff)") || err.contains("(not written: --diff)"), "{out}{err}");
    for m in ["lab01", "lab02", "lab03"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{m}    on     ")) && l.contains("ms")), "{m} in the status table: {out}");
    }
    // 5. lab01 cancelled: announced, and nothing runs there any more (its sshd is gone).
    let messages = lab.file("log/messages");
    assert!(messages.contains(&format!("{} logger ctys: CANCEL lab01 (POWEROFF) in 0 s", lab.ns(1))), "{messages}");
    assert!(messages.contains(&format!("{} wall ctys: CANCEL lab01 (POWEROFF) in 0 s", lab.ns(1))), "{messages}");
    let left = Command::new("ip").args(["netns", "pids", &lab.ns(1)]).output().unwrap().stdout;
    assert!(left.is_empty(), "lab01 still runs {}", String::from_utf8_lossy(&left));
    assert!(!Path::new(&lab.dir.join("m1/sshd.pid")).exists());
    // 6. lab02's CANCEL without SELF: its guest went down by its power button, lab02 stayed up.
    assert!(out.contains("CANCEL tst100: stack: shutdown qemu:vm1\nCANCEL tst100: stack: all down\n"), "{out}");
    assert!(lab.file("m2/vde/qemu.root/vm1.log").contains("CTYS-GUEST vm1 powerdown"));
    assert!(!lab.dir.join("m2/vde/qemu.root/vm1.pid").exists(), "the guest's pid file is gone");

    // lab03's own poweroff, then a magic packet: its Redfish BMC is told both, and says so.
    let (code, out, err) = lab.ctys(&["exec", "ctys", "-t", "pm", "-a", "cancel=l:lab03,POWEROFF:0,SELF", "lab03"]);
    assert_eq!(code, 0, "{out}{err}");
    common::wait_until("lab03's BMC to report its poweroff", 30, || redfish_power(&lab) == "Off");
    let (code, out, err) = lab.ctys(&["exec", "ctys", "-t", "pm", "-a", "create=wol,t:lab03,ping:50%0.2"]);
    assert_eq!(code, 0, "{out}{err}");
    common::wait_until("lab03's BMC to report the Wake-on-LAN", 30, || redfish_power(&lab) == "On");

    let (code, _, err) = lab.ctys(&["down"]);
    assert_eq!(code, 0, "{err}");
    lab.assert_gone();
}

#[test]
fn up_failing_half_way_takes_itself_down_and_refusals() {
    if !privileged("up_failing_half_way_takes_itself_down_and_refusals") {
        return;
    }
    let lab = Lab::new("lf");
    // A BMC that cannot start: an ipmi_sim that exits at once, found first on PATH.
    let fake = lab.home.write("bin/ipmi_sim", "#!/bin/sh\nexit 1\n");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.parent().unwrap().display(), std::env::var("PATH").unwrap());
    let (code, out, err) = lab.ctys_path(&["up", "2"], Some(&path));
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("BMC 1"), "{err}");
    lab.assert_gone();

    for (args, code, msg) in [
        (&["up", "0"][..], 1, "bad machine count '0': a whole number from 1 to 50"),
        (&["up", "x"][..], 1, "bad machine count 'x'"),
        (&["frob"][..], 1, "unknown command 'frob'"),
        (&["exec"][..], 1, "give a command"),
        (&["up", "--redfish", "4", "3"][..], 1, "--redfish 4: there are only 3 machines"),
        (&["up", "--redfish", "2,x"][..], 1, "bad --redfish machine 'x'"),
        (&["tour", "--redfish"][..], 1, "--redfish needs a list of machines"),
    ] {
        let (c, _, e) = lab.ctys(args);
        assert_eq!(c, code, "{args:?}: {e}");
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    // A Redfish BMC without sushy-tools (and no --install): exit 2 saying how, nothing made.
    let (c, _, e) = {
        let mut cmd = bin("ctys", lab.home.path());
        cmd.env("CTYS_LAB_NAME", &lab.name).env("CTYS_LAB_DIR", &lab.dir).env("CTYS_LAB_SUSHY", lab.home.path().join("nosushy"));
        split(cmd.args(["lab", "up", "--redfish", "1", "1"]).output().unwrap())
    };
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("nosushy: ctys lab up --install puts it there"), "{e}");
    lab.assert_gone();
    // A second `up` refuses to touch a lab that is there.
    assert_eq!(lab.ctys(&["up", "1"]).0, 0);
    let (c, _, e) = lab.ctys(&["up", "1"]);
    assert_eq!(c, 3);
    assert!(e.contains("is up already (or left over): ctys lab down first"), "{e}");
    assert_eq!(lab.ctys(&["down"]).0, 0);
    lab.assert_gone();
    // `down` removes only a directory `up` made: one without the marker, or whose marker
    // names another lab or is not root's, stays with everything in it.
    let precious = lab.dir.join("precious");
    std::fs::create_dir_all(&lab.dir).unwrap();
    std::fs::write(&precious, "keep me").unwrap();
    for marker in [None, Some("otherlab\n"), Some("mine")] {
        if let Some(m) = marker {
            let text = if m == "mine" { format!("{}\n", lab.name) } else { m.to_string() };
            std::fs::write(lab.dir.join(".ctys-lab"), text).unwrap();
            if m == "mine" {
                std::os::unix::fs::chown(lab.dir.join(".ctys-lab"), Some(65534), Some(65534)).unwrap();
            }
        }
        let (c, _, e) = lab.ctys(&["down"]);
        assert_eq!(c, 0, "{e}");
        assert!(e.contains("was not made by ctys lab up") && e.contains("left alone"), "{marker:?}: {e}");
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me", "{marker:?}");
    }
}
