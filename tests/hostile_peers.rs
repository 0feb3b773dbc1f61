//! Hostile peers and hostile files: a server that floods bytes instead of speaking SSH, a
//! command with endless output, FIFOs and /dev/zero where files are expected, directory links
//! that loop, group includes that double, words with thousands of ranges. Each ends with a
//! clear error in bounded time and memory, never a hang.
mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::sshd::Sshd;
use common::{bin, split, TempDir};

fn run(home: &TempDir, prog: &str, args: &[&str]) -> (i32, String, String) {
    split(bin(prog, home.path()).env("IPMI_PASSWORD", "x").args(args).output().unwrap())
}

/// The peak resident memory of a finished child, in MiB (from wait4's rusage).
fn run_measured(home: &TempDir, prog: &str, args: &[&str]) -> (i32, String, u64) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = bin(prog, home.path()).args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // Read stderr while the child runs: a full pipe would otherwise block it before wait4 returns.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        err
    });
    let mut ru: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let mut status = 0;
    // SAFETY: wait4 on our own child with valid pointers.
    let got = unsafe { nix::libc::wait4(pid.as_raw(), &mut status, 0, &mut ru) };
    assert_eq!(got, pid.as_raw());
    let err = reader.join().unwrap();
    let code = std::process::ExitStatus::from_raw(status).code().unwrap_or(-1);
    (code, err, ru.ru_maxrss as u64 / 1024)
}

#[test]
fn a_peer_that_floods_bytes_ends_at_the_connect_timeout() {
    let home = TempDir::new("flood");
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in server.incoming().flatten() {
            std::thread::spawn(move || {
                let mut c = c;
                let line = [b'x'; 100];
                while c.write_all(&line).and_then(|()| c.write_all(b"\r\n")).is_ok() {}
            });
        }
    });
    let t0 = Instant::now();
    let chunk = format!(
        "local r = ctys.remote.exec{{ hosts = {{ '127.0.0.1:{port}' }}, cmd = 'true', connect_timeout = 2, timeout = 3, config = 'none', progress = false }}[1] print(r.kind, r.err)"
    );
    let (code, out, err) = run(&home, "ctys", &["-e", &chunk]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("timeout\t127.0.0.1:") && out.contains("no SSH session within 2 s"), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
}

#[test]
fn endless_remote_output_is_cut_at_the_bound() {
    let sshd = Sshd::start(2, 1);
    let chunk = format!(
        "local r = ctys.remote.exec{{ hosts = '{}', cmd = 'head -c 100000000 /dev/zero', max_output = 1000000, timeout = 30, progress = false }}[1] print(r.kind, #r.stdout <= 1100000, r.err)",
        sshd.target(0)
    );
    let (code, out, err) = split(bin("ctys", sshd.home.path()).args(["-e", &chunk]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("toolarge\ttrue\t") && out.contains("more than 1000000 bytes of output"), "{out}");
}

#[test]
fn fifos_devices_and_loops_where_files_are_expected() {
    let home = TempDir::new("fifo");
    let mkfifo = |p: &std::path::Path| assert!(std::process::Command::new("mkfifo").arg(p).status().unwrap().success());
    std::fs::create_dir_all(home.path().join(".ctys/ipmi")).unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    let creds = home.path().join(".ctys/ipmi/credentials");
    mkfifo(&creds);
    mkfifo(&home.path().join(".ssh/config"));
    mkfifo(&home.path().join(".ctys/machines"));
    let t0 = Instant::now();
    let fifo = creds.display().to_string();
    let (code, out, _) = split(bin("ctys-ipmi", home.path()).env_remove("IPMI_PASSWORD").args(["-f", &fifo, "127.0.0.1:9", "power", "status"]).output().unwrap());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not a regular file"), "{out}");
    let (code, out, err) = run(&home, "ctys-plugins", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("credentials is not a regular file") && out.contains("machines is not a regular file"), "{out}");
    let (code, out, _) = run(&home, "ctys", &["-e", "print(ctys.remote.exec{ hosts = '127.0.0.1:9', cmd = 'true', progress = false })"]);
    assert_eq!(code, 0);
    assert!(out.contains("config is not a regular file"), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(20), "nothing waited on a FIFO: {:?}", t0.elapsed());
    // /dev/zero as a script, and on stdin: an error, not all the memory there is.
    let z = home.path().join("z.lua");
    std::os::unix::fs::symlink("/dev/zero", &z).unwrap();
    let (code, err, mib) = run_measured(&home, "ctys", &[z.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds more than 64 MiB: not a Lua source"), "{err}");
    assert!(mib < 1024, "peak {mib} MiB");
    // Two links to the groups directory itself: listed once, never followed.
    let groups = home.path().join(".ctys/groups");
    std::fs::create_dir_all(&groups).unwrap();
    std::fs::write(groups.join("g"), "a\n").unwrap();
    std::os::unix::fs::symlink(".", groups.join("a")).unwrap();
    std::os::unix::fs::symlink(".", groups.join("b")).unwrap();
    let (code, out, err) = run(&home, "ctys-groups", &["-l", "-X"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("g;{}\n", groups.display()));
}

#[test]
fn expansions_that_double_or_grow_are_bounded() {
    let home = TempDir::new("bomb");
    let groups = home.path().join(".ctys/groups");
    std::fs::create_dir_all(&groups).unwrap();
    // g1 includes g2 twice, ... g40: 2^40 reads unless each group is read once.
    for i in 1..=40 {
        std::fs::write(groups.join(format!("g{i}")), format!("h{i}\n#include g{},g{}\n", i + 1, i + 1)).unwrap();
    }
    std::fs::write(groups.join("g41"), "last\n").unwrap();
    let t0 = Instant::now();
    let (code, out, err) = run(&home, "ctys-groups", &["-X", "g1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 41, "{out}");
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
    // 30,000 brackets in one word: expanded in linear time and memory (it took 2.3 GB), and a
    // name that long is refused with the word shortened, not echoed whole.
    let (code, err, mib) = run_measured(&home, "ctys", &["-e", "local n = require('ctys.hostlist').expand(('a[1]'):rep(30000)) assert(#n == 1 and #n[1] == 60000)"]);
    assert_eq!(code, 0, "{err}");
    assert!(mib < 512, "peak {mib} MiB");
    let word = "a[1]".repeat(30_000);
    let (code, _, err) = run(&home, "ctys-groups", &["-X", &word]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not an address or a host name") && err.len() < 400, "{err}");
    // Many CONTEXT lines: one context text of at most 64 KiB.
    std::fs::write(groups.join("ctx"), "CONTEXT(-d 1)\n".repeat(20_000) + "lab1\n").unwrap();
    let (code, _, err) = run(&home, "ctys-groups", &["-X", "ctx"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("context options take more than 65536 bytes"), "{err}");
    for (body, msg) in [
        ("CONTEXT'(-d 1'\nlab1\n", "bad CONTEXT line"),
        ("#include\nlab1\n", "#include names no group"),
        ("#include ../x\n", "bad group name '../x'"),
        ("a]b,c\n", "'a]b' is not an address or a host name"),
        ("\u{feff}lab1\n", "is not an address or a host name"),
    ] {
        std::fs::write(groups.join("odd"), body).unwrap();
        let (code, _, err) = run(&home, "ctys-groups", &["-X", "odd"]);
        assert_eq!(code, 1, "{body:?}: {err}");
        assert!(err.contains(msg), "{body:?}: {err}");
    }
    // Zero padding wider than any number: named, not a Lua format error.
    let (code, _, err) = run(&home, "ctys-groups", &[&format!("a[{}1-2]", "0".repeat(200))]);
    assert_eq!(code, 1);
    assert!(err.contains("numbers of at most 19 digits") && !err.contains("traceback"), "{err}");
}
