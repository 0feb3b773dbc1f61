//! Wake-on-LAN on the wire: packets sent inside network namespaces the test creates, captured
//! by tcpdump on the far side and compared byte for byte with what etherwake and wakeonlan send
//! there; PM CREATE against a namespace "machine" that comes up when its packet arrives.
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::netns::{privileged, udp_parts, Capture, Pair, MAC_A};
use common::{bin, bin_in, split, TempDir};

const TARGET: &str = "AA:BB:CC:DD:EE:FF";

fn magic(pw: &[u8]) -> Vec<u8> {
    let mut p = vec![0xff; 6];
    for _ in 0..16 {
        p.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    }
    p.extend_from_slice(pw);
    p
}

/// Runs `send` inside the pair's first namespace and returns the one frame vb received.
fn capture(pair: &Pair, dir: &TempDir, tag: &str, filter: &str, send: &mut Command) -> Vec<u8> {
    let file = dir.path().join(format!("{tag}.pcap"));
    let cap = Capture::start(&pair.b, "vb", &file, filter);
    let (code, out, err) = split(send.output().unwrap());
    assert_eq!(code, 0, "{tag}: {send:?}: {out}{err}");
    let frames = cap.frames(1);
    assert_eq!(frames.len(), 1, "{tag}: expected one frame, got {}", frames.len());
    frames.into_iter().next().unwrap()
}

fn lua_in(pair: &Pair, home: &TempDir, chunk: &str) -> Command {
    let mut c = bin_in(Some(&pair.a), "ctys", home.path());
    c.args(["-e", chunk]);
    c
}

fn tool(ns: &str, program: &str, args: &[&str]) -> Command {
    let mut c = Pair::cmd(ns, program);
    c.args(args);
    c
}

#[test]
fn raw_frames_equal_etherwakes() {
    if !privileged("raw_frames_equal_etherwakes") {
        return;
    }
    let pair = Pair::new(None);
    let dir = TempDir::new("wolraw");
    let raw = "ether proto 0x0842";
    let cases: [(&str, &[&str], String); 4] = [
        ("bcast", &["-b", "-i", "va", TARGET], format!("ctys.wol.send{{ mac = '{TARGET}', iface = 'va', raw = true }}")),
        ("unicast", &["-i", "va", TARGET], format!("ctys.wol.send{{ mac = '{TARGET}', iface = 'va', raw = true, unicast = true }}")),
        (
            "pw4",
            &["-i", "va", "-p", "192.168.1.2", TARGET],
            format!("ctys.wol.send{{ mac = '{TARGET}', iface = 'va', raw = true, unicast = true, password = '192.168.1.2' }}"),
        ),
        (
            "pw6",
            &["-i", "va", "-p", "01:02:03:04:05:06", TARGET],
            "ctys.wol.send{ mac = 'aabb.ccdd.eeff', iface = 'va', raw = true, unicast = true, password = '01:02:03:04:05:06' }".to_string(),
        ),
    ];
    for (tag, ew_args, chunk) in &cases {
        let peer = capture(&pair, &dir, &format!("ew-{tag}"), raw, &mut tool(&pair.a, "etherwake", ew_args));
        let ours = capture(&pair, &dir, &format!("ctys-{tag}"), raw, &mut lua_in(&pair, &dir, &format!("assert({chunk})")));
        assert_eq!(ours, peer, "{tag}: frames differ");
        assert_eq!(&ours[6..12], &[2, 0, 0, 0, 0, 0x0a], "{tag}: source is va's MAC");
        // describe shows the frame that went out, byte for byte, the password's bytes as xx.
        let (code, out, err) = split(lua_in(&pair, &dir, &format!("print(select(2, ctys.wol.describe{}))", &chunk["ctys.wol.send".len()..])).output().unwrap());
        assert_eq!(code, 0, "{tag}: {err}");
        let hex: String = ours.iter().enumerate().map(|(i, b)| if i >= 14 + 102 { "xx".to_string() } else { format!("{b:02x}") }).collect();
        assert_eq!(out.trim_end(), hex, "{tag}: describe differs from the wire");
    }
    // count and interval: three frames.
    let file = dir.path().join("count.pcap");
    let cap = Capture::start(&pair.b, "vb", &file, raw);
    let (code, _, err) = split(lua_in(&pair, &dir, &format!("assert(ctys.wol.send{{ mac = '{TARGET}', iface = 'va', raw = true, count = 3, interval = 0.05 }})")).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(cap.frames(3).len(), 3);
    // ctys-wakeup -i sends the broadcast frame, as etherwake -b does.
    let peer = capture(&pair, &dir, "ew-b2", raw, &mut tool(&pair.a, "etherwake", &["-b", "-i", "va", TARGET]));
    let ours = capture(&pair, &dir, "wakeup-i", raw, bin_in(Some(&pair.a), "ctys-wakeup", dir.path()).args(["-i", "va", TARGET]));
    assert_eq!(ours, peer);
    assert_eq!(ours.len(), 116);
    assert_eq!(&ours[14..], &magic(&[])[..]);
}

#[test]
fn udp_packets_equal_wakeonlans() {
    if !privileged("udp_packets_equal_wakeonlans") {
        return;
    }
    let pair = Pair::new(Some("10.99.0.2/24"));
    let dir = TempDir::new("woludp");
    let udp = "udp";
    // Directed broadcast.
    let peer = capture(&pair, &dir, "wol-dir", udp, &mut tool(&pair.a, "wakeonlan", &["-i", "10.99.0.255", "-p", "9", TARGET]));
    let ours = capture(&pair, &dir, "ctys-dir", udp, bin_in(Some(&pair.a), "ctys-wakeup", dir.path()).args(["-t", "10.99.0.255", TARGET]));
    assert_eq!(udp_parts(&ours), udp_parts(&peer));
    assert_eq!(udp_parts(&ours), (magic(&[]), [10, 99, 0, 255], 9));
    assert_eq!(&ours[..6], &[0xff; 6], "L2 broadcast");
    // Unicast to a live address (ARP resolves vb), other port.
    let peer = capture(&pair, &dir, "wol-uni", udp, &mut tool(&pair.a, "wakeonlan", &["-i", "10.99.0.2", "-p", "7", TARGET]));
    let ours = capture(&pair, &dir, "ctys-uni", udp, bin_in(Some(&pair.a), "ctys-wakeup", dir.path()).args(["-t", "10.99.0.2", "-p", "7", TARGET]));
    assert_eq!(udp_parts(&ours), udp_parts(&peer));
    assert_eq!(&ours[..6], &[2, 0, 0, 0, 0, 0x0b], "L2 unicast to vb");
    // Limited broadcast with no default route: only SO_BINDTODEVICE gets it out.
    let ours = capture(&pair, &dir, "ctys-lim", udp, bin_in(Some(&pair.a), "ctys-wakeup", dir.path()).args(["-i", "va", "-t", "255.255.255.255", TARGET]));
    let (code, _, err) = split(tool(&pair.a, "wakeonlan", &["-p", "9", TARGET]).output().unwrap());
    assert!(code != 0 && err.contains("unreachable"), "wakeonlan without a default route: {code} {err}");
    common::netns::sh(&["ip", "-n", &pair.a, "route", "add", "default", "dev", "va"]);
    let peer = capture(&pair, &dir, "wol-lim", udp, &mut tool(&pair.a, "wakeonlan", &["-p", "9", TARGET]));
    assert_eq!(udp_parts(&ours), udp_parts(&peer));
    assert_eq!(udp_parts(&ours).1, [255, 255, 255, 255]);
}

#[test]
fn send_many_puts_every_packet_on_the_wire() {
    if !privileged("send_many_puts_every_packet_on_the_wire") {
        return;
    }
    let pair = Pair::new(Some("10.99.0.2/24"));
    let dir = TempDir::new("wolmany");
    for (tag, how) in [("udp", "broadcast = '10.99.0.255', gso = false"), ("raw", "iface = 'va', raw = true")] {
        let file = dir.path().join(format!("{tag}.pcap"));
        let cap = Capture::start(&pair.b, "vb", &file, "udp or ether proto 0x0842");
        let chunk = format!(
            "local macs = {{}} for i = 1, 500 do macs[i] = string.format('02:00:00:00:%02x:%02x', i // 256, i % 256) end
             print(assert(ctys.wol.send_many{{ macs = macs, {how} }}))"
        );
        let (code, out, err) = split(lua_in(&pair, &dir, &chunk).output().unwrap());
        assert_eq!((code, out.as_str()), (0, "500\n"), "{tag}: {err}");
        let frames = cap.frames(500);
        assert_eq!(frames.len(), 500, "{tag}");
        for (i, f) in frames.iter().enumerate() {
            let payload = if tag == "udp" { udp_parts(f).0 } else { f[14..].to_vec() };
            let n = i + 1;
            assert_eq!(&payload[6..12], &[2, 0, 0, 0, (n / 256) as u8, (n % 256) as u8], "{tag} packet {n}");
        }
    }
    // GSO is the default for UDP; the veth passes 64-datagram buffers on uncut (so fewer frames
    // than packets prove it was used): every MAC is still there, in order.
    let file = dir.path().join("gso.pcap");
    let cap = Capture::start(&pair.b, "vb", &file, "udp");
    let chunk = "local macs = {} for i = 1, 500 do macs[i] = string.format('02:00:00:00:%02x:%02x', i // 256, i % 256) end
                 print(assert(ctys.wol.send_many{ macs = macs, broadcast = '10.99.0.255' }))";
    let (code, out, err) = split(lua_in(&pair, &dir, chunk).output().unwrap());
    assert_eq!((code, out.as_str()), (0, "500\n"), "{err}");
    let frames = cap.frames(8);
    assert!(frames.len() < 500, "segmentation offload by default: {} frames", frames.len());
    let payloads: Vec<u8> = frames.iter().flat_map(|f| udp_parts(f).0).collect();
    assert_eq!(payloads.len(), 500 * 102);
    for (i, p) in payloads.chunks(102).enumerate() {
        let n = i + 1;
        assert_eq!(p[..6], [0xff; 6]);
        assert_eq!(&p[6..12], &[2, 0, 0, 0, (n / 256) as u8, (n % 256) as u8], "gso datagram {n}");
    }
}

/// A namespace "machine" that is off until its magic packet arrives: then it gets its address
/// (so it answers ping) and starts an sshd (so the SSH check sees a banner).
fn power_on_when_woken(pair: &Pair, home: &TempDir) -> std::thread::JoinHandle<bool> {
    let mut dump = Pair::cmd(&pair.b, "tcpdump")
        .args(["-i", "vb", "-l", "-n", "-c", "1", "udp port 9 or ether proto 0x0842"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::netns::wait_listening(&mut dump);
    let ns = pair.b.clone();
    let dir = home.path().to_path_buf();
    std::thread::spawn(move || {
        let mut out = String::new();
        if BufReader::new(dump.stdout.take().unwrap()).read_line(&mut out).unwrap_or(0) == 0 {
            return false;
        }
        let _ = dump.wait();
        common::netns::sh(&["ip", "-n", &ns, "addr", "add", "10.99.0.2/24", "dev", "vb"]);
        let key = dir.join("hk");
        common::netns::sh(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()]);
        std::fs::create_dir_all("/run/sshd").ok();
        let cfg = dir.join("sshd_config");
        std::fs::write(&cfg, format!("ListenAddress 10.99.0.2:22\nHostKey {}\nPidFile {}/sshd.pid\nUsePAM no\nLogLevel ERROR\n", key.display(), dir.display())).unwrap();
        Pair::cmd(&ns, "/usr/sbin/sshd").args(["-f"]).arg(&cfg).status().map(|s| s.success()).unwrap_or(false)
    })
}

#[test]
fn pm_create_wakes_a_machine_and_waits_for_ping_and_ssh() {
    if !privileged("pm_create_wakes_a_machine_and_waits_for_ping_and_ssh") {
        return;
    }
    let pair = Pair::new(None);
    let home = TempDir::new("pmcreate");
    let db = home.write("machines", "hostX mac=02:00:00:00:00:0b ip=10.99.0.2\n");
    // The directed broadcast a CANCEL with WOL,BROADCAST left for hostX (no BROADCAST given here).
    let remembered = home.write("wol-broadcast", "other 10.1.1.255\nhostX 10.99.0.255\n");
    let woken = power_on_when_woken(&pair, &home);
    let (code, out, err) = split(
        bin_in(Some(&pair.a), "ctys", home.path())
            .env("CTYS_MACHINES", &db)
            .env("CTYS_WOL_REMEMBER", &remembered)
            .args(["-t", "pm", "-a", "create=wol,t:hostX,ping:30%0.2,sshping:30%0.2"])
            .output()
            .unwrap(),
    );
    assert!(woken.join().unwrap(), "the machine never saw its packet");
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("CREATE hostX: broadcast 10.99.0.255, as its CANCEL with WOL asked ({})", remembered.display()));
    assert_eq!(lines[1], "CREATE hostX: wol: sent UDP 102 bytes to 10.99.0.255:9 for 02:00:00:00:00:0b");
    assert!(lines[2].starts_with("CREATE hostX: ping 10.99.0.2: answered at try "), "{out}");
    assert!(lines[3].starts_with("CREATE hostX: ssh 10.99.0.2:22: answered at try "), "{out}");
    assert_eq!(lines[4], "CREATE hostX: up");
    // Now it answers: a second CREATE refuses (exit 3) unless REUSE.
    let again = |extra: &str| {
        split(
            bin_in(Some(&pair.a), "ctys", home.path())
                .env("CTYS_MACHINES", &db)
                .args(["-t", "pm", "-a", &format!("create=wol,t:hostX,if:va,ping:2%0.2,sshping:2%0.2{extra}")])
                .output()
                .unwrap(),
        )
    };
    let (code, _, err) = again("");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("10.99.0.2 already answers ping (use REUSE"), "{err}");
    let (code, out, err) = again(",reuse");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("CREATE hostX: 10.99.0.2 already answers ping: reused\n"), "{out}");
}

#[test]
fn pm_create_fails_when_nothing_answers() {
    if !privileged("pm_create_fails_when_nothing_answers") {
        return;
    }
    let pair = Pair::new(None);
    let home = TempDir::new("pmnone");
    let (code, out, err) = split(
        bin_in(Some(&pair.a), "ctys", home.path())
            .args(["-t", "pm", "-a", "create=wol:0.1,t:10.99.0.7,m:02:00:00:00:00:77,if:va,ping:3%0.2"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.starts_with(&format!("CREATE 10.99.0.7: wol: sent raw frame 116 bytes on va, {MAC_A} > ff:ff:ff:ff:ff:ff")), "{out}");
    assert!(out.contains("CREATE 10.99.0.7: waiting 0.1 s\n"), "{out}");
    assert!(err.contains("CREATE 10.99.0.7: ping 10.99.0.7: no answer after 3 tries, 0.2 s apart"), "{err}");
}

#[test]
fn pm_create_bad_input_exits_1_and_a_name_without_mac_exits_2() {
    let home = TempDir::new("pmbad");
    let db = home.write("machines", "nomac ip=10.99.0.9\n");
    let run = |sub: &str| split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", sub]).output().unwrap());
    for (sub, code, msg) in [
        ("create=wol,m:zz:00", 1, "'zz:00' is not a MAC address"),
        ("create=wol,m:02:00:00:00:00:01,broadcast:10.99.0.255,if:va", 1, "BROADCAST and IF exclude each other"),
        ("create=wol,m:02:00:00:00:00:01,port:7", 1, "PORT needs BROADCAST"),
        ("create=wol,broadcast:10.99.0.255", 1, "no machine address"),
        ("create=wol,m:02:00:00:00:00:01,ping:x", 1, "bad ping 'x'"),
        ("create=wol,m:02:00:00:00:00:01,reuse,resume", 1, "REUSE and RESUME exclude each other"),
        ("create=wol,l:nomac", 2, "CREATE nomac: no MAC address"),
    ] {
        let (c, _, err) = run(sub);
        assert_eq!(c, code, "{sub}: {err}");
        assert!(err.contains(msg), "{sub}: {err}");
    }
    let (c, _, err) = split(bin("ctys-wakeup", home.path()).env("CTYS_MACHINES", &db).arg("nomac").output().unwrap());
    assert_eq!(c, 2, "{err}");
    let (c, _, err) = split(bin("ctys-wakeup", home.path()).args(["-P", "secret-pw", "-n", TARGET]).output().unwrap());
    assert_eq!(c, 1);
    assert!(err.contains("password") && !err.contains("secret-pw"), "the password must not be echoed: {err}");
}

#[test]
fn the_seeds_create_line_runs_on_its_execution_host() {
    if !privileged("the_seeds_create_line_runs_on_its_execution_host") {
        return;
    }
    // lab01 (10.99.0.1, an sshd in the first namespace) is the execution host: the packet
    // leaves from there, and the machine hostX wakes up in the second namespace.
    let pair = Pair::new(None);
    let lab01 = common::sshd::Sshd::start_at(vec!["10.99.0.1".into()], 22, Some(&pair.a));
    let home = &lab01.home;
    let db = home.write("machines", "hostX mac=02:00:00:00:00:0b ip=10.99.0.2\nhostXDirectedCast ip=10.99.0.255\n");
    home.write(".ssh/config", "Host lab01\n    HostName 10.99.0.1\n");
    let woken = power_on_when_woken(&pair, home);
    let remote = format!("env CTYS_MACHINES={} CTYS_NO_DNS=1 {}", db.display(), env!("CARGO_BIN_EXE_ctys"));
    let (code, out, err) = split(
        bin_in(Some(&pair.a), "ctys", home.path())
            .env("CTYS_REMOTE_CMD", &remote)
            .args("-t pm -a create=wol,t:hostX,broadcast:hostXDirectedCast lab01".split(' '))
            .output()
            .unwrap(),
    );
    assert!(woken.join().unwrap(), "the machine never saw its packet");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("CREATE hostX: wol: sent UDP 102 bytes to 10.99.0.255:9 for 02:00:00:00:00:0b\n"), "{out}");
    assert!(out.ends_with("CREATE hostX: up\n"), "{out}");
}
