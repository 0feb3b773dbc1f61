//! Bad input of every kind (any bytes, any size, any value) gets a clear error naming the bad
//! token and its exit value, before any side effect: no packet leaves, no command runs, no BMC
//! is asked; never a panic (exit 101), never a hang.
mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{bin, split, TempDir};

/// A UDP socket on 127.0.0.1 that must receive nothing.
struct Silent(UdpSocket);

impl Silent {
    fn new() -> Silent {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        Silent(s)
    }

    fn port(&self) -> String {
        self.0.local_addr().unwrap().port().to_string()
    }

    fn assert_nothing(&self, what: &str) {
        let mut buf = [0u8; 2048];
        assert!(self.0.recv(&mut buf).is_err(), "{what}: a datagram arrived");
    }
}

fn run(home: &TempDir, prog: &str, args: &[&str]) -> (i32, String, String) {
    split(bin(prog, home.path()).env("IPMI_PASSWORD", "x").args(args).output().unwrap())
}

#[test]
fn values_are_checked_before_the_first_side_effect() {
    let home = TempDir::new("hostile");
    let udp = Silent::new();
    let port = udp.port();
    let mac = "02:00:00:00:00:01";
    let rec = home.write("rec.sh", &format!("#!/bin/sh\necho \"$*\" >> {}/ran\n", home.path().display()));
    std::fs::set_permissions(&rec, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let table = home.write(
        "commands.lua",
        &["poweroff", "reboot", "init", "logger", "wall"].iter().map(|c| format!("{c} = {{ {:?}, {c:?} }}, ", rec.display().to_string())).collect::<String>(),
    );
    std::fs::write(&table, format!("return {{ {} }}", std::fs::read_to_string(&table).unwrap())).unwrap();
    let create = |delay: &str, extra: &str| format!("create=wol{delay},m:{mac},broadcast:127.0.0.1,port:{port},ping:off,sshping:off{extra}");
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), create(":1e308", "")], "bad WOL delay '1e308'"),
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), create(":-1", "")], "bad WOL delay '-1'"),
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), format!("create=wol,m:{mac},broadcast:300.1.1.1"), "--dry-run".into()], "BROADCAST '300.1.1.1' is not an IPv4 address"),
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), "cancel=l:x,POWEROFF:1e308,SELF".into()], "CANCEL: bad POWEROFF delay '1e308'"),
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), "cancel=POWEROFF:abc".into()], "CANCEL: bad POWEROFF delay 'abc'"),
        ("ctys", vec!["-t".into(), "pm".into(), "-a".into(), "cancel=TIMEOUT:nan".into()], "CANCEL: bad TIMEOUT 'nan'"),
        ("ctys-wakeup", vec!["-t".into(), "127.0.0.1".into(), "-p".into(), port.clone(), mac.into(), "-n".into()], "'-n': options go before the MACs"),
        ("ctys-ipmi", vec![format!("127.0.0.1:{port}"), "identify".into(), "256".into()], "bad identify seconds '256'"),
        ("ctys-ipmi", vec![format!("127.0.0.1:{port}"), "identify".into(), "-5".into()], "bad identify seconds '-5'"),
        ("ctys-ipmi", vec![format!("127.0.0.1:{port}"), "identify".into(), "abc".into()], "bad identify seconds 'abc'"),
        ("ctys-ipmi", vec![format!("127.0.0.1:{port}"), "bootdev".into(), "pxe".into(), "foo".into()], "unknown flag 'foo'"),
        ("ctys-ipmi", vec!["-N".into(), "1e300".into(), format!("127.0.0.1:{port}"), "power".into(), "status".into()], "bad timeout (-N) '1e300'"),
        ("ctys-ipmi", vec!["-N".into(), "1e19".into(), format!("127.0.0.1:{port}"), "power".into(), "status".into()], "bad timeout (-N) '1e19'"),
        ("ctys-ipmi", vec!["-R".into(), "0".into(), format!("127.0.0.1:{port}"), "power".into(), "status".into()], "bad tries (-R) '0'"),
    ];
    for (prog, args, msg) in cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = split(bin(prog, home.path()).env("IPMI_PASSWORD", "x").env("CTYS_COMMANDS", &table).args(&argv).output().unwrap());
        assert_eq!(code, 1, "{prog} {argv:?}: {out}{err}");
        assert!(err.contains(msg), "{prog} {argv:?}: {err}");
        assert!(!err.contains("stack traceback"), "{prog} {argv:?}: a command-line error gets no traceback: {err}");
        udp.assert_nothing(&format!("{prog} {argv:?}"));
        assert!(!home.path().join("ran").exists(), "{prog} {argv:?}: a command ran");
    }
}

#[test]
fn durations_out_of_bounds_raise_in_every_binding() {
    let home = TempDir::new("hostile");
    for chunk in [
        "ctys.sleep(1e308)",
        "ctys.core.sleep(1e308)",
        "ctys.core.sleep(-1)",
        "ctys.ipmi.open{ host = '127.0.0.1', timeout = 1e19 }",
        "ctys.core.ipmi_open{ host = '127.0.0.1', timeout = 1e19 }",
        "ctys.remote.exec{ hosts = '127.0.0.1', cmd = 'true', connect_timeout = 1.8e19 }",
        "ctys.core.remote_exec{ targets = { { host = '127.0.0.1' } }, cmd = 'true', connect_timeout = 1.8e19 }",
        "ctys.core.vde_connect('/nonexistent', 1e300)",
        "ctys.probe.ping{ host = '127.0.0.1', timeout = 0/0 }",
    ] {
        let (code, out, err) = run(&home, "ctys", &["-e", chunk]);
        assert_eq!(code, 1, "{chunk}: {out}{err}");
        assert!(err.contains("bad argument") && (err.contains("seconds") || err.contains("timeout")), "{chunk}: {err}");
    }
    // ssh_config: a ConnectTimeout past every bound is named, not a panic.
    home.write(".ssh/config", "Host *\n  ConnectTimeout 18446744073709551615\n");
    let (code, out, err) = run(&home, "ctys", &["-e", "print(ctys.remote.exec{ hosts = '127.0.0.1', cmd = 'true', progress = false }[1].err)"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ConnectTimeout") || out.contains("connecttimeout"), "{out}");
}

#[test]
fn non_utf8_arguments_sources_and_messages() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let home = TempDir::new("hostile");
    let ff = OsStr::from_bytes(b"\xff");
    let progs = ["ctys", "ctys-vnetctl", "ctys-wakeup", "ctys-ipmi", "ctys-bmc", "ctys-macros", "ctys-groups", "ctys-plugins", "ctys-exec", "ctys-distribute", "ctys-machines", "ctys-vping"];
    for prog in progs {
        let o = bin(prog, home.path()).arg(ff).output().unwrap();
        assert_ne!(o.status.code(), Some(101), "{prog} panicked: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{prog}");
    }
    // The tools' subcommands and ctys status, with such a word where a name or a value goes:
    // refused as misuse (exit 1) or as a database that has no such machine, never a panic.
    for args in [&["status"][..], &["machines", "list"], &["machines", "show"], &["machines", "collect", "-w"], &["machines", "neighbours"], &["machines", "neighbours", "--sweep"]] {
        let (prog, rest) = if args[0] == "machines" { ("ctys-machines", &args[1..]) } else { ("ctys", args) };
        let o = bin(prog, home.path()).args(rest).arg(ff).output().unwrap();
        let (code, _, err) = split(o);
        assert!(code == 1 || code == 3, "{prog} {rest:?} \\xff: exit {code}: {err}");
        assert!(!err.contains("panicked") && err.contains('\u{fffd}'), "{prog} {rest:?}: the bad word is named: {err}");
    }
    let o = bin("ctys", home.path()).args([OsStr::new("-a"), OsStr::from_bytes(b"create=\xff")]).output().unwrap();
    let (code, _, err) = split(o);
    assert_eq!(code, 1);
    assert!(err.contains("CREATE: unknown suboption '\u{fffd}'"), "{err}");
    // A script with a Latin-1 comment and string runs; its bytes reach Lua untouched.
    let script = home.path().join("latin1.lua");
    std::fs::write(&script, b"-- caf\xe9\nio.write(\"caf\xe9\", #arg[1])\n").unwrap();
    let o = bin("ctys", home.path()).arg(&script).arg(OsStr::from_bytes(b"\xe9t\xe9")).output().unwrap();
    assert_eq!((o.status.code(), o.stdout.as_slice()), (Some(0), &b"caf\xe93"[..]), "{}", String::from_utf8_lossy(&o.stderr));
    // An error message with such bytes is shown, not lost.
    let o = bin("ctys", home.path()).args([OsStr::new("-e"), OsStr::from_bytes(b"error('bad \\255 value', 0)")]).output().unwrap();
    let (code, _, err) = split(o);
    assert_eq!(code, 1);
    assert!(err.starts_with("ctys: bad \u{fffd} value"), "{err}");
    // A site module with a Latin-1 comment loads.
    home.write(".ctys/lua/site/mod.lua", "");
    std::fs::write(home.path().join(".ctys/lua/site/mod.lua"), b"-- d\xe9j\xe0 vu\nreturn 42\n").unwrap();
    assert_eq!(run(&home, "ctys", &["-e", "print((require 'site.mod'))"]).1, "42\n");
}

#[test]
fn binary_chunks_load_only_when_asked() {
    let home = TempDir::new("hostile");
    let (code, out, err) = run(&home, "ctys", &["-e", "print(load(string.dump(function() end)))"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("attempt to load a binary chunk (mode is 't')"), "{out}");
    // A corrupt dump, given as text, is refused; nothing crashes.
    let (code, out, _) = run(&home, "ctys", &["-e", "local d = string.dump(function() return 1 end) print(load(d:sub(1, 20) .. string.rep('\\0', 50)))"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nil\t"), "{out}");
    assert_eq!(run(&home, "ctys", &["-e", "print(load(string.dump(function() return 7 end), 'x', 'b')())"]).1, "7\n", "asked for: loads");
    let f = home.write("bin.luac", "");
    std::fs::write(&f, b"\x1bLua\x54\x00garbage").unwrap();
    let (code, _, err) = split(bin("ctys", home.path()).arg(&f).output().unwrap());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("attempt to load a binary chunk"), "{err}");
}

#[test]
fn expansions_are_bounded() {
    let home = TempDir::new("hostile");
    for word in ["lab[1-1000][1-1000][1-1000]", "h[0-9223372036854775807]", "h[1-3][0-4611686018427387904]"] {
        let (code, _, err) = run(&home, "ctys-groups", &[word]);
        assert_eq!(code, 1, "{word}");
        assert!(err.contains("stands for more than 100000 hosts"), "{word}: {err}");
    }
    // A 100 KB user part: refused as too long, shown cut (not echoed whole).
    let word = format!("{}@h1", "u".repeat(100_000));
    for tool in ["ctys-exec", "ctys"] {
        let args: &[&str] = if tool == "ctys" { &["-t", "cli", "-a", "create=cmd:true", &word] } else { &["-w", &word, "true"] };
        let (code, _, err) = run(&home, tool, args);
        assert_eq!(code, 1, "{tool}: {err}");
        assert!(err.contains("user name longer than 255 bytes") && err.len() < 300, "{tool}: {err}");
    }
    // Many references to one large macro: stopped before the text is built.
    let big = format!("B = {}\nA = {}\n", "x".repeat(1_000_000), vec!["{macro:B}"; 3000].join(" "));
    home.write(".ctys/macros/default", &big);
    let (code, _, err) = run(&home, "ctys", &["-t", "pm", "-a", "macro:A"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("expands to more than 1048576 bytes"), "{err}");
    // A chain of macros that each double the one before.
    let chain: String = std::iter::once("m0 = x x\n".to_string()).chain((1..40).map(|i| format!("m{i} = macro:m{} macro:m{}\n", i - 1, i - 1))).collect();
    home.write(".ctys/macros/default", &chain);
    let (code, _, err) = run(&home, "ctys", &["-t", "pm", "-a", "macro:m39"]);
    assert_eq!(code, 1);
    assert!(err.contains("expands to more than 1048576 bytes"), "{err}");
    // 400,000 continuation lines are read (in linear time: this is a hang guard, not a benchmark).
    let mut cont = String::from("a = x \\\n");
    cont.push_str(&"y\\\n".repeat(400_000));
    cont.push_str("z\n");
    home.write(".ctys/macros/default", &cont);
    let t0 = std::time::Instant::now();
    let (code, out, err) = run(&home, "ctys-macros", &["a"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("x {}z", "y".repeat(400_000))), "{}", &out[..out.len().min(200)]);
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
    // A machines.lua that never returns, or that works in C code no budget can stop, or that
    // asks for more memory than there is.
    for (body, msg) in [
        ("while true do end", "stopped after 10000000 instructions"),
        ("return ('a'):rep(40):find(('a-'):rep(40)..'b')", "attempt to call a nil value (method 'rep')"),
        ("local t = {} for i = 1, 1e9 do t[i] = i end", "not enough memory"),
    ] {
        let db = home.write("machines.lua", body);
        let (code, _, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", "create=wol,l:lab1", "--dry-run"]).output().unwrap());
        assert_eq!(code, 2, "{body}: {err}");
        assert!(err.contains(msg), "{body}: {err}");
    }
    // A script past the Lua state's limit gets an error, not an aborted process.
    let (code, _, err) = run(&home, "ctys", &["-e", "local t = {} for i = 1, 1e10 do t[i] = i end"]);
    assert_eq!((code, err.trim()), (1, "ctys: not enough memory"));
}

#[test]
fn nothing_wrong_is_silently_accepted() {
    let home = TempDir::new("hostile");
    for (prog, args, code, msg) in [
        ("ctys", &["-Z", "FOO", "-a", "list"][..], 1, "bad value 'FOO' for -Z: SUDO or KSU"),
        ("ctys", &["-T", "nosuchtype", "-t", "pm", "-a", "cancel", "--dry-run"][..], 2, "plugin type NOSUCHTYPE (-T) is not available"),
        ("ctys", &["--gather", "--json", "-a", "x"][..], 1, "one output form at a time"),
        ("ctys", &["-X", "--json", "-a", "x"][..], 1, "one output form at a time"),
        ("ctys", &["-e", "print(1)", "-a", "x"][..], 1, "-e runs a chunk; it does not combine"),
        ("ctys-vnetctl", &["-d", "-5", "list"][..], 1, "bad debug level '-5' (-d): 0 to 3"),
        ("ctys-vnetctl", &["--frobnicate"][..], 1, "unknown option '--frobnicate'"),
    ] {
        let (c, out, err) = run(&home, prog, args);
        assert_eq!(c, code, "{prog} {args:?}: {out}{err}");
        assert!(err.contains(msg), "{prog} {args:?}: {err}");
    }
    for tool in ["ctys-vnetctl", "ctys-wakeup", "ctys-ipmi", "ctys-macros", "ctys-groups", "ctys-plugins"] {
        let (c, out, err) = run(&home, tool, &["--help"]);
        assert_eq!(c, 0, "{tool} --help: {err}");
        assert!(out.starts_with("usage: ") && out.contains("exit values:") && out.contains("128+N"), "{tool}: {out}");
    }
    // `ctys --tool NAME` is `ctys-NAME` (what -Z runs under sudo, where no ctys-* link is).
    let (c, out, _) = run(&home, "ctys", &["--tool", "vnetctl", "-V"]);
    assert_eq!((c, out.starts_with("ctys-vnetctl ")), (0, true), "{out}");
    assert_eq!(run(&home, "ctys", &["--tool", "../x"]).0, 1);
    // A write that fails is an error, not success.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    home.write(".ctys/groups/g", "a b c\n");
    let o = bin("ctys-groups", home.path()).args(["-X", "g"]).stdout(full).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write to standard output"));
    // PAUSE's warning comes with --dry-run too.
    let (c, _, err) = run(&home, "ctys", &["-t", "pm", "-a", "cancel=PAUSE", "--dry-run"]);
    assert_eq!(c, 0);
    assert!(err.contains("PAUSE is mapped to POWEROFF"), "{err}");
    // Records of a local target hold its output (it runs as a program of its own).
    let (c, out, err) = run(&home, "ctys", &["-t", "pm", "-a", "cancel=POWEROFF:0", "--dry-run", "--json", "localhost"]);
    assert_eq!(c, 0, "{err}");
    assert!(out.starts_with("{") && out.contains("\"host\":\"localhost\"") && out.contains("would wait 0 s"), "{out}");
    assert_eq!(out.lines().count(), 1, "only the record: {out}");
    let (c, out, _) = run(&home, "ctys", &["-t", "pm", "-a", "cancel=POWEROFF:0", "--dry-run", "-X", "localhost"]);
    assert_eq!(c, 0);
    assert!(out.starts_with("localhost;0;;;;CANCEL ") && out.lines().count() == 1, "{out}");
}

#[test]
fn signals_an_ignored_hup_and_a_run_stuck_in_c() {
    use nix::sys::signal::{kill, Signal};
    use std::time::Instant;
    let home = TempDir::new("hostile");
    let pid = |c: &std::process::Child| nix::unistd::Pid::from_raw(c.id() as i32);
    // Started with SIGHUP ignored (nohup): it stays ignored.
    let c = std::process::Command::new("nohup")
        .arg(env!("CARGO_BIN_EXE_ctys"))
        .args(["-e", "ctys.sleep(1) print('survived')"])
        .env("HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    kill(pid(&c), Signal::SIGHUP).unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()), (Some(0), "survived\n"));
    // Stuck in C code (a pattern match no hook interrupts): SIGTERM still ends it, 128+15.
    let c = bin("ctys", home.path()).args(["-e", "local _ = ('a'):rep(40):find(('a-'):rep(40) .. 'b')"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    kill(pid(&c), Signal::SIGTERM).unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143));
    assert!(t0.elapsed() < Duration::from_secs(40), "{:?}", t0.elapsed());
}

#[test]
fn a_spawned_program_outlives_ctys_in_a_session_of_its_own() {
    let home = TempDir::new("hostile");
    let marker = format!("sleep {}.55", 54000 + std::process::id() % 10000);
    let (code, out, err) = run(&home, "ctys", &["-e", &format!("print(assert(ctys.proc.spawn{{ argv = {{ 'sh', '-c', '{marker}' }} }}))")]);
    assert_eq!(code, 0, "{err}");
    let spawned: i32 = out.trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stat = std::fs::read_to_string(format!("/proc/{spawned}/stat")).expect("still running after ctys ended");
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    assert_eq!(fields[3], spawned.to_string(), "its own session: sid = pid");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(spawned), nix::sys::signal::Signal::SIGKILL);
}

/// argv that is bytes (`\xff` stands for the byte 0xFF), run with IPMI_PASSWORD `pw` and `env`.
fn run_bytes(home: &TempDir, prog: &str, args: &[&str], pw: &str, env: &[(&str, &std::path::Path)]) -> (i32, String, String) {
    use std::os::unix::ffi::OsStrExt;
    let argv: Vec<std::ffi::OsString> =
        args.iter().map(|a| std::ffi::OsStr::from_bytes(&a.replace("\\xff", "\u{1}").bytes().map(|b| if b == 1 { 0xff } else { b }).collect::<Vec<_>>()).to_owned()).collect();
    let mut c = bin(prog, home.path());
    c.env("IPMI_PASSWORD", pw).args(&argv);
    for (k, v) in env {
        c.env(k, v);
    }
    split(c.output().unwrap())
}

#[test]
fn bad_text_addresses_and_files_are_named_before_anything_is_sent() {
    let home = TempDir::new("hostile");
    let udp = Silent::new();
    let bmc = format!("127.0.0.1:{}", udp.port());
    let mac = "02:00:00:00:00:01";
    let long_pw = "p".repeat(21);
    let cases: Vec<(&str, Vec<&str>, &str, i32, &str)> = vec![
        ("ctys-wakeup", vec!["-t", "127.0.0.1", "-p", "9", "\\xff"], "x", 2, "\u{fffd}: no MAC address"),
        ("ctys-wakeup", vec!["-i", "\\xff", mac], "x", 1, "bad interface (-i) '\u{fffd}'"),
        ("ctys-wakeup", vec!["-P", "1.2.3.999", mac], "x", 1, "bad SecureOn password (-P)"),
        ("ctys-wakeup", vec!["-t", "-oX", mac], "x", 1, "bad -t '-oX': an address or a host name"),
        ("ctys-ipmi", vec!["\\xff", "power", "status"], "x", 1, "bad BMC host '\u{fffd}'"),
        ("ctys-ipmi", vec!["-U", "\\xff", &bmc, "power", "status"], "x", 1, "bad user (-U)"),
        ("ctys-ipmi", vec!["-U", "u2345678901234567", &bmc, "power", "status"], "x", 1, "bad user (-U)"),
        ("ctys-ipmi", vec!["127.0.0.1:0", "power", "status"], "x", 1, "bad BMC port in '127.0.0.1:0'"),
        ("ctys-ipmi", vec!["127.0.0.1:70000", "power", "status"], "x", 1, "bad BMC port"),
        ("ctys-ipmi", vec!["a:b:c", "power", "status"], "x", 1, "'a:b:c' is not host[:port]"),
        ("ctys-ipmi", vec![&bmc, "-U", "x", "power", "status"], "x", 1, "'-U': options go before the hosts"),
        ("ctys-ipmi", vec!["-C", "5", &bmc, "power", "status"], "x", 1, "bad cipher suite (-C) '5'"),
        ("ctys-ipmi", vec!["-I", "foo", &bmc, "power", "status"], "x", 1, "-I takes lanplus or lan"),
        // A password longer than the protocol carries is refused, not cut short: nothing sent.
        ("ctys-ipmi", vec![&bmc, "power", "status"], &long_pw, 2, "the password is longer than 20 bytes"),
        ("ctys-ipmi", vec!["-I", "lan", &bmc, "power", "status"], &long_pw[..17], 2, "the password is longer than 16 bytes"),
        ("ctys-vnetctl", vec!["-s", "/nonexistent/\\xff/x", "-n", "create"], "x", 2, "no directory /nonexistent/\u{fffd}"),
        ("ctys-vnetctl", vec!["-s", "/tmp/x", "-S", "/tmp//./x", "-n", "create"], "x", 1, "is the switch's directory (-s)"),
        ("ctys", vec!["-t", "pm", "-a", "create=wol,m:02:00:00:00:00:01,broadcast:::1", "--dry-run"], "x", 1, "BROADCAST ':1' is not an IPv4 address"),
        ("ctys", vec!["-t", "pm", "-a", "create=wol,m:02:00:00:00:00:01,if:a/b", "--dry-run"], "x", 1, "bad IF 'a/b'"),
        ("ctys", vec!["-t", "pm", "-a", "cancel=wol,broadcast:-x", "--dry-run"], "x", 1, "BROADCAST '-x' is not an IPv4 address or host name"),
        ("ctys", vec!["-t", "pm", "-a", "cancel=poweroff,ipmi:h:0", "--dry-run"], "x", 1, "IPMI:h:0: bad BMC port"),
        ("ctys", vec!["-t", "pm", "-a", "create=ipmi:h:99999,t:x", "--dry-run"], "x", 1, "IPMI:h:99999: bad BMC port"),
        ("ctys", vec!["-a", "list", "localhost(-X --json)"], "x", 1, "-X and --json: one output form at a time"),
        ("ctys-macros", vec![""], "x", 1, "bad macro name ''"),
        ("ctys-macros", vec!["!"], "x", 1, "bad macro name '!'"),
        ("ctys", vec!["-e", "error(setmetatable({}, { __tostring = function() error('x') end }))"], "x", 1, "an error whose message could not be made"),
        ("ctys", vec!["-e", "require('ctys.err').raise(0, 'x')"], "x", 1, "bad argument 'code': an exit value from 1 to 125, got 0"),
        ("ctys", vec!["-e", "ctys.hostlist = nil; require('ctys.hostlist').fold({ 'a', 5 })"], "x", 1, "bad argument 'names[2]': expected string"),
    ];
    for (prog, args, pw, code, msg) in cases {
        let (c, out, err) = run_bytes(&home, prog, &args, pw, &[]);
        assert_eq!(c, code, "{prog} {args:?}: {out}{err}");
        // ctys-ipmi reports a BMC's failure on its line of stdout.
        assert!(err.contains(msg) || (prog == "ctys-ipmi" && out.contains(msg)), "{prog} {args:?}: {out}{err}");
        assert!(!err.contains("converting") && !err.contains("stack traceback"), "{prog} {args:?}: {err}");
        assert!(!out.contains(&long_pw[..16]) && !err.contains(&long_pw[..16]), "the password is never shown: {out}{err}");
        udp.assert_nothing(&format!("{prog} {args:?}"));
    }
    // Bytes reach the bindings: refused or not found, never a conversion error, never a resolver.
    let chunk = "local function why(...) return select(2, ...) end
      print(why(ctys.probe.resolve('\\255')), why(ctys.probe.resolve('-oX')), why(ctys.core.resolve('\\255')), ctys.net.valid_name('\\255'), why(ctys.wol.parse_mac('\\255')))";
    let (c, out, err) = run(&home, "ctys", &["-e", chunk]);
    assert_eq!(c, 0, "{err}");
    assert!(out.starts_with("'\u{fffd}' is not a host name or address\t'-oX' is not a host name or address\t'\u{fffd}' is not UTF-8 text\tfalse\t\"\u{fffd}\" is not a MAC address"), "{out}");
    // Files: a directory where one is expected, a missing command table, bad fields.
    let dir = home.path().join("dir");
    std::fs::create_dir_all(dir.join("default")).unwrap();
    for (env, args, msg) in [
        ("CTYS_MACHINES", vec!["-n", "lab1"], "dir is not a regular file (a machine database file)"),
        ("CTYS_MACRO_PATH", vec!["x"], "the macro file"),
        ("CTYS_WOL_REMEMBER", vec![], "(the remembered broadcasts)"),
        ("CTYS_WOL_SENT", vec![], "dir is not a regular file (the wake-up times)"),
        ("CTYS_COMMANDS", vec![], "the command table"),
    ] {
        let path = if env == "CTYS_COMMANDS" { home.path().join("none.lua") } else { dir.clone() };
        let (prog, args): (&str, Vec<&str>) = match env {
            "CTYS_MACHINES" => ("ctys-wakeup", args),
            "CTYS_MACRO_PATH" => ("ctys-macros", args),
            "CTYS_WOL_REMEMBER" => ("ctys", vec!["-t", "pm", "-a", "create=wol,m:02:00:00:00:00:01,ping:off,sshping:off", "--dry-run"]),
            "CTYS_WOL_SENT" => ("ctys", vec!["status", "127.0.0.1"]),
            _ => ("ctys", vec!["-t", "pm", "-a", "cancel=poweroff:0,self"]),
        };
        let (c, out, err) = run_bytes(&home, prog, &args, "x", &[(env, &path)]);
        assert_eq!(c, 2, "{env}: {out}{err}");
        assert!(err.contains(msg), "{env}: {err}");
    }
    for (body, msg) in [
        ("return { a = { mac = {} } }", "a: mac must be a string, not a table"),
        ("return { a = { ip = 5 } }", "a: ip must be a string, not a number"),
        ("return { a = { ip = '999.1.1.1' } }", "a: bad ip \"999.1.1.1\""),
        ("return { a = { ip = '-oX' } }", "a: bad ip \"-oX\""),
        ("return { a = { bmc = 'h:0' } }", "a: bad bmc \"h:0\""),
        ("return { a = { iface = 'a/b' } }", "a: bad iface \"a/b\""),
    ] {
        let db = home.write("m.lua", body);
        let (c, out, err) = run_bytes(&home, "ctys-wakeup", &["-n", "a"], "x", &[("CTYS_MACHINES", &db)]);
        assert_eq!(c, 2, "{body}: {out}{err}");
        assert!(err.contains(msg), "{body}: {err}");
    }
}
