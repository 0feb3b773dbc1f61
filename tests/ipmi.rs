//! IPMI against a real BMC (OpenIPMI ipmi_sim on 127.0.0.x), with ipmitool as the independent
//! reader of what ctys changed; suite 17 (which ipmi_sim lacks) against captured sessions.
mod common;

use std::time::{Duration, Instant};

use common::bmc::{Bmc, PASSWORD};
use common::udp_proxy::{self, Dir, Proxy};
use common::{bin, split, TempDir};
use ctys::prim::ipmi::{crypto, wire};

fn ctys_ipmi(home: &TempDir, args: &[&str]) -> (i32, String, String) {
    split(bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", PASSWORD).args(args).output().unwrap())
}

#[test]
fn chassis_commands_change_what_ipmitool_reads() {
    let b = Bmc::start("127.0.0.30");
    let home = TempDir::new("ipmi");
    let t = b.target();
    assert_eq!(ctys_ipmi(&home, &[&t, "power", "status"]), (0, format!("{t}: on\n"), String::new()));
    assert_eq!(ctys_ipmi(&home, &[&t, "power", "off"]).1, format!("{t}: ok\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is off");
    assert_eq!(ctys_ipmi(&home, &[&t, "power", "on"]).1, format!("{t}: ok\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
    assert_eq!(ctys_ipmi(&home, &[&t, "power", "soft"]).1, format!("{t}: ok\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is off");
    assert_eq!(ctys_ipmi(&home, &["-C", "3", &t, "bootdev", "pxe"]).1, format!("{t}: ok\n"));
    assert_eq!(b.state("boot"), "pxe");
    assert_eq!(ctys_ipmi(&home, &[&t, "identify", "7"]).1, format!("{t}: ok\n"));
    assert!(b.state("identify").starts_with('7'), "{}", b.state("identify"));
    let (code, out, _) = ctys_ipmi(&home, &[&t, "mc", "info"]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("{t}: firmware 9.08, IPMI 2.0, manufacturer 4753, product 3842, device 0 rev 3\n"));
    let (_, out, _) = ctys_ipmi(&home, &["-X", &t, "chassis", "status"]);
    assert_eq!(out, format!("{t};power off, identify off, restore always-off;\n"));
    let (_, out, _) = ctys_ipmi(&home, &["-j", &t, "power", "status"]);
    assert_eq!(out, format!("{{\"err\":null,\"host\":\"{t}\",\"kind\":null,\"result\":\"off\"}}\n"));
    let log = b.state("chassis.log");
    assert!(log.contains("power 0") && log.contains("power 1") && log.contains("boot pxe"), "{log}");
}

#[test]
fn wrong_password_fails_fast_and_a_silent_port_within_its_timeout() {
    let b = Bmc::start("127.0.0.31");
    let home = TempDir::new("ipmi");
    let t0 = Instant::now();
    let (code, out, _) = split(bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", "wrong").args([&b.target(), "power", "status"]).output().unwrap());
    assert_eq!(code, 3);
    assert_eq!(out, format!("{}: password invalid for user admin (RAKP 2 check failed)\n", b.target()));
    assert!(t0.elapsed() < Duration::from_secs(3), "not a timeout: {:?}", t0.elapsed());
    let silent = std::net::UdpSocket::bind("127.0.0.31:0").unwrap();
    let s = format!("127.0.0.31:{}", silent.local_addr().unwrap().port());
    let t0 = Instant::now();
    let (code, out, _) = ctys_ipmi(&home, &["-N", "0.3", "-R", "2", &s, "power", "status"]);
    assert_eq!(code, 3);
    assert_eq!(out, format!("{s}: no answer after 2 tries (0.6 s)\n"));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[test]
fn sixteen_bmcs_at_once_and_results_in_order() {
    let bmcs: Vec<Bmc> = (0..16).map(|i| Bmc::start(&format!("127.0.0.{}", 40 + i))).collect();
    let home = TempDir::new("ipmi");
    std::fs::write(bmcs[5].path("power"), "0\n").unwrap();
    let mut args: Vec<String> = bmcs.iter().map(Bmc::target).collect();
    args.extend(["power".into(), "status".into()]);
    let (code, out, err) = split(bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", PASSWORD).args(&args).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let want: String = bmcs.iter().enumerate().map(|(i, b)| format!("{}: {}\n", b.target(), if i == 5 { "off" } else { "on" })).collect();
    assert_eq!(out, want);
}

#[test]
fn a_thousand_sessions_leak_nothing() {
    let b = Bmc::start("127.0.0.32");
    let home = TempDir::new("ipmi");
    let chunk = format!(
        "local n = 0
         for i = 1, 1000 do
           local bmc = assert(ctys.ipmi.open{{ host = '{}', port = {}, prompt = false }})
           if bmc:power('status') == 'on' then n = n + 1 end
           bmc:close()
         end
         print(n)",
        b.addr, b.port
    );
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).args(["-e", &chunk]).output().unwrap());
    assert_eq!((code, out.as_str()), (0, "1000\n"), "{err}");
    // The BMC still takes new sessions (ipmi_sim allows a handful at once).
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
}

#[test]
fn refusals() {
    let home = TempDir::new("ipmi");
    for (args, msg) in [
        (&["127.0.0.1", "power", "bogus"][..], "power takes one of"),
        (&["power", "status"][..], "no BMC given"),
        (&["127.0.0.1"][..], "no command"),
        (&["-P", "secret", "127.0.0.1", "power", "status"][..], "unknown option '-P'"),
        (&["-C", "5", "127.0.0.1", "power", "status"][..], "bad cipher suite (-C) '5'"),
    ] {
        let (code, _, err) = ctys_ipmi(&home, args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("secret"), "no secret in a message");
    }
    // No password anywhere: exit 2, saying where it looked.
    let (code, out, _) = split(bin("ctys-ipmi", home.path()).env_remove("IPMI_PASSWORD").args(["127.0.0.1", "power", "status"]).output().unwrap());
    assert_eq!(code, 2);
    assert!(out.contains("no IPMI password for admin@127.0.0.1:623: looked for $IPMI_PASSWORD"), "{out}");
}

/// UDP payloads of a pcap file (Ethernet or Linux cooked link layer, IPv4).
fn udp_payloads(path: &str) -> Vec<(u16, Vec<u8>)> {
    let data = std::fs::read(path).unwrap();
    let link = u32::from_le_bytes(data[20..24].try_into().unwrap());
    let l2 = match link {
        1 => 14,
        113 => 16,
        _ => 0,
    };
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = &data[off + 16..off + 16 + incl];
        let ip = &f[l2..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let dport = u16::from_be_bytes([ip[ihl + 2], ip[ihl + 3]]);
        out.push((dport, ip[ihl + 8..].to_vec()));
        off += 16 + incl;
    }
    out
}

/// The session-setup messages of a captured RMCP+ session.
struct Captured {
    packets: Vec<(u16, Vec<u8>)>,
    open: Vec<u8>,
    r1: Vec<u8>,
    r2: Vec<u8>,
    r3: Vec<u8>,
    r4: Vec<u8>,
}

impl Captured {
    fn read(file: &str) -> Captured {
        let packets = udp_payloads(&format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR")));
        let find = |pt: u8| packets.iter().map(|(_, p)| wire::v2_parse(p, None)).find_map(|v| v.ok().filter(|v| v.ptype == pt)).unwrap().payload;
        let (open, r1, r2, r3, r4) = (find(wire::PT_OPEN_RESP), find(wire::PT_RAKP1), find(wire::PT_RAKP2), find(wire::PT_RAKP3), find(wire::PT_RAKP4));
        Captured { packets, open, r1, r2, r3, r4 }
    }

    fn exchange(&self, suite: crypto::Suite) -> crypto::Exchange<'_> {
        crypto::Exchange {
            suite,
            console_sid: self.open[4..8].try_into().unwrap(),
            bmc_sid: self.open[8..12].try_into().unwrap(),
            console_rand: self.r1[8..24].try_into().unwrap(),
            bmc_rand: self.r2[8..24].try_into().unwrap(),
            guid: self.r2[24..40].try_into().unwrap(),
            role: self.r1[24],
            user: &self.r1[28..28 + usize::from(self.r1[27])],
        }
    }
}

#[test]
fn suite_17_known_answers_from_a_captured_session() {
    let c = Captured::read("lanplus-c17.pcap");
    let suite = crypto::Suite::by_id(17).unwrap();
    assert_eq!(&c.open[16..17], &[suite.auth], "the capture is a suite 17 session");
    let x = c.exchange(suite);
    assert_eq!(x.user, b"admin");
    let kuid = crypto::kuid(b"password");
    assert_eq!(*x.rakp2(&kuid), c.r2[40..72].to_vec(), "RAKP 2 HMAC-SHA256");
    assert_eq!(*x.rakp3(&kuid), c.r3[8..40].to_vec(), "RAKP 3");
    let sik = x.sik(&kuid);
    assert_eq!(*x.rakp4(&sik), c.r4[8..24].to_vec(), "RAKP 4 check value (16 bytes)");
    let (k1, k2) = crypto::session_keys(&suite, &sik);
    // Every session packet passes its HMAC-SHA256-128 trailer and decrypts to a valid message.
    let mut n = 0;
    for (_, p) in &c.packets {
        let Ok(v) = wire::v2_parse(p, None) else { continue };
        if v.ptype != wire::PT_IPMI || !v.authenticated {
            continue;
        }
        let v = wire::v2_parse(p, Some((&suite, &k1))).expect("integrity trailer");
        let msg = crypto::decrypt(&k2, &v.payload).expect("decrypts");
        assert_eq!(msg[0].wrapping_add(msg[1]).wrapping_add(msg[2]), 0, "header checksum");
        assert_eq!(msg[3..].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0, "body checksum");
        n += 1;
    }
    assert!(n >= 4, "requests and replies of the session: {n}");
}

#[test]
fn kg_session_capture_checks_what_does_not_need_the_key() {
    // kg-fake.pcap: suite 17 with an unknown K_g. RAKP 2 and 3 use the password alone.
    let c = Captured::read("kg-fake.pcap");
    let x = c.exchange(crypto::Suite::by_id(17).unwrap());
    let kuid = crypto::kuid(b"password");
    assert_eq!(*x.rakp2(&kuid), c.r2[40..72].to_vec());
    assert_eq!(*x.rakp3(&kuid), c.r3[8..40].to_vec());
    // With the password as key (no K_g) RAKP 4 does not match: the BMC used a K_g.
    assert_ne!(*x.rakp4(&x.sik(&kuid)), c.r4[8..24].to_vec());
}

#[test]
fn ctys_bmc_speaks_ipmi_by_url_by_flag_and_by_probe() {
    let b = Bmc::start("127.0.0.41");
    let home = TempDir::new("ipmi");
    let t = b.target();
    let bmc = |args: &[&str]| split(bin("ctys-bmc", home.path()).env("IPMI_PASSWORD", PASSWORD).args(args).output().unwrap());
    // A bare address: no Redfish service root there (port 443 refused), a presence pong: IPMI.
    assert_eq!(bmc(&[&t, "power", "status"]), (0, format!("{t}: on\n"), String::new()));
    let url = format!("ipmi://{t}");
    assert_eq!(bmc(&[&url, "power", "off"]).1, format!("{url}: ok\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is off");
    assert_eq!(bmc(&["-I", "lanplus", &t, "bootdev", "pxe", "--once"]).1, format!("{t}: ok\n"));
    assert_eq!(b.state("boot"), "pxe");
    assert_eq!(bmc(&["-I", "lanplus", &t, "identify", "5"]).1, format!("{t}: ok\n"));
    assert!(b.state("identify").starts_with('5'), "{}", b.state("identify"));
    let (code, _, err) = bmc(&["--ca", "x.pem", &url, "power", "status"]);
    assert_eq!(code, 1);
    assert!(err.contains("is an IPMI BMC: --ca, --insecure and -S are for Redfish"), "{err}");
    // PM with BMC and a bare database address probes it too.
    std::fs::write(b.path("power"), "0\n").unwrap();
    let db = home.write("machines", &format!("lab41 bmc={t}\n"));
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", "create=bmc,l:lab41,ping:off,sshping:off"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("CREATE lab41: bmc: powered on through the BMC {t}\nCREATE lab41: up\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
}

#[test]
fn pm_create_powers_on_through_the_bmc() {
    let b = Bmc::start("127.0.0.34");
    std::fs::write(b.path("power"), "0\n").unwrap();
    let home = TempDir::new("ipmi");
    let db = home.write("machines", &format!("lab09 bmc={} bmc_user=admin\nnobmc ip=10.99.0.9\n", b.target()));
    let run = |sub: &str| split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", sub]).output().unwrap());
    let (code, out, err) = run("create=ipmi,l:lab09,ping:off,sshping:off");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, format!("CREATE lab09: ipmi: powered on through the BMC {}\nCREATE lab09: up\n", b.target()));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
    // The BMC named in the suboption.
    let (code, out, _) = run(&format!("create=ipmi:{},l:other,ping:off,sshping:off", b.target()));
    assert_eq!(code, 0);
    assert!(out.starts_with("CREATE other: ipmi: powered on"), "{out}");
    for (sub, code, msg) in [
        ("create=ipmi,l:nobmc,ping:off,sshping:off", 2, "no BMC: give ipmi:<bmc>"),
        ("create=ipmi,wol,l:lab09", 1, "IPMI and WOL exclude each other"),
        ("create=ipmi,l:lab09,broadcast:10.0.0.255", 1, "BROADCAST, IF, PORT and BMAC are for WOL"),
    ] {
        let (c, _, err) = run(sub);
        assert_eq!(c, code, "{sub}: {err}");
        assert!(err.contains(msg), "{sub}: {err}");
    }
}

#[test]
fn presence_ping_and_suite_discovery() {
    let b = Bmc::start("127.0.0.35");
    let home = TempDir::new("ipmi");
    let chunk = format!(
        "print(ctys.ipmi.ping{{ host = '{a}', port = {p} }})
         print(ctys.ipmi.ping{{ host = '{a}', port = {q}, timeout = 0.2, retries = 1 }})
         local bmc = assert(ctys.ipmi.open{{ host = '{a}', port = {p}, prompt = false }})
         print(bmc:suite())
         bmc:close()",
        a = b.addr,
        p = b.port,
        q = common::sshd::free_port()
    );
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).args(["-e", &chunk]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "true\ttrue", "a pong that says IPMI");
    assert!(lines[1].starts_with("nil\tipmi 127.0.0.35:") && lines[1].ends_with("no answer after 1 tries (0.2 s)\ttimeout"), "{out}");
    // ipmi_sim ignores Get Channel Cipher Suites and refuses 17: the session ends up on 3.
    assert_eq!(lines[2], "3");
}

#[test]
fn ipmi_15_md5_and_straight_password() {
    let b = Bmc::start("127.0.0.33");
    let home = TempDir::new("ipmi");
    let t = b.target();
    for auth in ["MD5", "PASSWORD"] {
        assert_eq!(ctys_ipmi(&home, &["-I", "lan", "-A", auth, &t, "power", "off"]).1, format!("{t}: ok\n"), "{auth}");
        assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is off", "{auth}");
        assert_eq!(ctys_ipmi(&home, &["-I", "lan", "-A", auth, &t, "power", "on"]).1, format!("{t}: ok\n"));
        assert_eq!(ctys_ipmi(&home, &["-I", "lan", "-A", auth, &t, "power", "status"]).1, format!("{t}: on\n"));
    }
    // IPMI 1.5 BMCs drop a wrong auth code silently: the error still says why.
    let (code, out, _) = split(
        bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", "wrong").args(["-I", "lan", "-N", "0.2", "-R", "1", &t, "power", "status"]).output().unwrap(),
    );
    assert_eq!(code, 3);
    assert!(out.starts_with(&format!("{t}: password invalid for user admin (Activate Session")), "{out}");
}

/// An IPMI 1.5 reply turned into a forgery: authentication type "none" (no code), and the
/// chassis status's power bit cleared. None for anything but a Get Chassis Status reply.
fn forged_power_off(p: &[u8]) -> Option<Vec<u8>> {
    if p.len() < 30 || p[4] != wire::AUTH_MD5 {
        return None;
    }
    let len = p[29] as usize;
    let mut msg = p.get(30..30 + len)?.to_vec();
    // rsAddr, netFn 0x01 response (0x04), chk, rqAddr, seq, cmd 0x01, completion, data...
    if msg.len() < 9 || msg[1] >> 2 != 0x01 || msg[5] != 0x01 {
        return None;
    }
    msg[7] &= !1;
    let last = msg.len() - 1;
    msg[last] = msg[3..last].iter().fold(0u8, |a, b| a.wrapping_sub(*b));
    let mut f = p[..4].to_vec();
    f.push(wire::AUTH_NONE);
    f.extend_from_slice(&p[5..13]);
    f.push(msg.len() as u8);
    f.extend_from_slice(&msg);
    Some(f)
}

#[test]
fn an_unauthenticated_ipmi_15_reply_is_ignored() {
    let b = Bmc::start("127.0.0.36");
    let home = TempDir::new("ipmi");
    // The forger answers first with "off" in a reply without authentication; the BMC's real,
    // authenticated reply ("on") comes 100 ms later.
    let proxy = Proxy::start(
        format!("{}:{}", b.addr, b.port).parse().unwrap(),
        Box::new(|dir, p| match (dir, forged_power_off(p)) {
            (Dir::ToClient, Some(forged)) => vec![(Duration::ZERO, forged), (Duration::from_millis(100), p.to_vec())],
            _ => udp_proxy::pass(p),
        }),
    );
    let t = proxy.target();
    let (code, out, err) = ctys_ipmi(&home, &["-I", "lan", "-A", "MD5", &t, "power", "status"]);
    assert_eq!((code, out.as_str()), (0, format!("{t}: on\n").as_str()), "{err}");
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
}

#[test]
fn sigterm_and_sighup_close_the_bmc_session() {
    use nix::sys::signal::{kill, Signal};
    use std::io::BufRead;
    let b = Bmc::start("127.0.0.37");
    let home = TempDir::new("ipmi");
    let script = home.write(
        "hold.lua",
        &format!("local s = assert(ctys.ipmi.open{{ host = {:?}, port = {} }})\nprint('open')\nio.stdout:flush()\nctys.sleep(60)\n", b.addr, b.port),
    );
    let active = || b.ipmitool(&["session", "info", "active"]).lines().find_map(|l| l.strip_prefix("active sessions")).map(|v| v.trim_start_matches([' ', ':']).to_string());
    for sig in [Signal::SIGTERM, Signal::SIGHUP] {
        let mut child = bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).arg(&script).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "open\n");
        assert_eq!(active().as_deref(), Some("2"), "ours and ipmitool's");
        kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(128 + sig as i32));
        assert_eq!(active().as_deref(), Some("1"), "{sig}: only ipmitool's own session is left");
    }
}

/// The RMCP+ payload type of a session-setup packet (Open Session ... RAKP 4), else None.
fn setup_type(p: &[u8]) -> Option<u8> {
    (p.len() > 5 && p[4] == 0x06 && (0x10..=0x15).contains(&p[5])).then_some(p[5])
}

#[test]
fn a_lost_rakp_2_or_4_starts_the_setup_over() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let b = Bmc::start("127.0.0.38");
    let home = TempDir::new("ipmi");
    for lose in [wire::PT_RAKP2, wire::PT_RAKP4] {
        // Every copy of the first round's reply is lost; later rounds pass.
        let seen = std::sync::Arc::new(AtomicU32::new(0));
        let s2 = seen.clone();
        let proxy = Proxy::start(
            format!("{}:{}", b.addr, b.port).parse().unwrap(),
            Box::new(move |dir, p| {
                if dir == Dir::ToServer && setup_type(p) == Some(wire::PT_OPEN_REQ) && p.len() > 24 {
                    s2.fetch_add(1, Ordering::SeqCst);
                }
                let first_round = s2.load(Ordering::SeqCst) <= 3;
                if dir == Dir::ToClient && setup_type(p) == Some(lose) && first_round {
                    return Vec::new();
                }
                udp_proxy::pass(p)
            }),
        );
        let t = proxy.target();
        let t0 = Instant::now();
        let (code, out, err) = ctys_ipmi(&home, &["-C", "3", "-N", "0.3", &t, "power", "status"]);
        assert_eq!((code, out.as_str()), (0, format!("{t}: on\n").as_str()), "lost 0x{lose:02x}: {err}");
        assert!(seen.load(Ordering::SeqCst) > 1, "a second Open Session");
        assert!(t0.elapsed() < Duration::from_secs(10), "hang guard");
    }
    // Nothing leaked: only ipmitool's own session is active.
    let active = b.ipmitool(&["session", "info", "active"]);
    assert!(active.contains("active sessions               : 1"), "{active}");
}

#[test]
fn kg_comes_from_the_environment_a_file_or_the_terminal_never_argv() {
    let b = Bmc::start("127.0.0.39");
    let home = TempDir::new("ipmi");
    let t = b.target();
    // ipmi_sim's RAKP 4 matches no K_g, so a key given is reported as the wrong one.
    let (code, out, _) = split(bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", PASSWORD).env("IPMI_KGKEY", "0x0102030405").args(["-C", "3", "-K", &t, "power", "status"]).output().unwrap());
    assert_eq!((code, out.as_str()), (3, format!("{t}: k_g invalid (RAKP 4 check failed)\n").as_str()));
    let kg = home.write("kg", "topsecretkey\n");
    let (code, out, err) = ctys_ipmi(&home, &["-C", "3", "-G", kg.to_str().unwrap(), &t, "power", "status"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("readable by group or others; refused") && !out.contains("topsecretkey"), "{out}");
    std::fs::set_permissions(&kg, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    assert_eq!(ctys_ipmi(&home, &["-C", "3", "-G", kg.to_str().unwrap(), &t, "power", "status"]).1, format!("{t}: k_g invalid (RAKP 4 check failed)\n"));
    let (code, _, err) = split(bin("ctys-ipmi", home.path()).env("IPMI_KGKEY", "0xzz-nothex").args(["-K", &t, "power", "status"]).output().unwrap());
    assert_eq!(code, 2);
    assert!(!err.contains("nothex"), "{err}");
    for opt in ["-k", "-y"] {
        let (code, out, err) = ctys_ipmi(&home, &[opt, "hunter2", &t, "power", "status"]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("a K_g on the command line is visible to every user") && !err.contains("hunter2"), "{err}");
    }
}

#[test]
fn a_session_is_raised_to_its_privilege_only_when_a_command_needs_it() {
    let b = Bmc::start("127.0.0.40");
    let home = TempDir::new("ipmi");
    let t = b.target();
    // At user privilege a BMC answers reads, and refuses to switch (kind privilege, exit 3).
    assert_eq!(ctys_ipmi(&home, &["-L", "user", &t, "power", "status"]), (0, format!("{t}: on\n"), String::new()));
    let (code, out, _) = ctys_ipmi(&home, &["-L", "user", &t, "power", "off"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("insufficient privilege level (0xd4)"), "{out}");
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is on");
    // Asked for operator, the session is raised before the switch, and only then.
    assert_eq!(ctys_ipmi(&home, &["-L", "operator", &t, "power", "off"]).1, format!("{t}: ok\n"));
    assert_eq!(b.ipmitool(&["chassis", "power", "status"]), "Chassis Power is off");
    let (_, out, _) = ctys_ipmi(&home, &["-j", "-L", "user", &t, "power", "off"]);
    assert!(out.contains("\"kind\":\"privilege\""), "{out}");
    // `power status` is Get Channel Authentication Capabilities, Open Session, RAKP 1, RAKP 3,
    // Get Chassis Status, Close Session (twice): no Set Session Privilege Level, whatever
    // privilege was asked for.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let s2 = sent.clone();
    let proxy = Proxy::start(
        format!("{}:{}", b.addr, b.port).parse().unwrap(),
        Box::new(move |dir, p| {
            if dir == Dir::ToServer {
                s2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            udp_proxy::pass(p)
        }),
    );
    let pt = proxy.target();
    assert_eq!(ctys_ipmi(&home, &["-C", "3", &pt, "power", "status"]).1, format!("{pt}: off\n"));
    // The last datagram may still be on its way through the proxy when ctys-ipmi has exited.
    common::wait_until("the proxy to count every datagram", 5, || sent.load(std::sync::atomic::Ordering::SeqCst) >= 7);
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 7);
}
