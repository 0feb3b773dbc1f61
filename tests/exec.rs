//! ctys-exec and the CLI plugin against real private sshds: pdsh's exit values, clush's gather
//! output compared line for line with clush -b on the same hosts, standard input to every host,
//! exclusion, copies both ways.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::sshd::Sshd;
use common::{bin, split, wait_until, TempDir};

/// Three sshds named h1..h3 in the client's ~/.ssh/config (ctys and OpenSSH read the same file).
fn hosts() -> Sshd {
    let sshd = Sshd::start(140, 3);
    let cfg: String = (0..3).map(|i| format!("Host h{}\n  HostName 127.0.0.{}\n  Port {}\n", i + 1, 140 + i, sshd.port)).collect();
    // OpenSSH takes ~ from the password file, not $HOME: every path is spelled out (and
    // `clush -o -F` points it at this file), so neither client ever resolves an alias by DNS.
    let h = sshd.home.path().display();
    sshd.home.write(".ssh/config", &format!("{cfg}Host *\n  UserKnownHostsFile {h}/.ssh/known_hosts\n  IdentityFile {h}/.ssh/id_ed25519\n  BatchMode yes\n"));
    sshd.home.write(".ctys/groups/three", "h1 h2 h3\n");
    sshd
}

fn exec(sshd: &Sshd, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut c = bin("ctys-exec", sshd.home.path());
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    split(child.wait_with_output().unwrap())
}

#[test]
fn output_modes_exit_values_stdin_and_exclusion() {
    let sshd = hosts();
    let who = "echo $SSH_CONNECTION | cut -d' ' -f3";
    let (code, out, _) = exec(&sshd, &["-w", "@three", "-b", &format!("{who}; echo same")], None);
    assert_eq!(code, 0);
    // clush -b on the same hosts, with the same ssh config: the same blocks.
    let clush = Command::new("clush")
        .env("HOME", sshd.home.path())
        .args(["-b", "-o", &format!("-F {}/.ssh/config", sshd.home.path().display()), "-w", "h[1-3]", &format!("{who}; echo same")])
        .stdin(Stdio::null())
        .output()
        .expect("clush (package clustershell)");
    let blocks = |s: &str| {
        let mut b: Vec<String> = s.split("---------------\n").filter(|x| !x.is_empty()).map(String::from).collect();
        b.sort();
        b
    };
    assert_eq!(blocks(&out), blocks(&String::from_utf8_lossy(&clush.stdout)), "ours:\n{out}\nclush: {}", String::from_utf8_lossy(&clush.stderr));
    // pdsh's exit value: the highest remote status; 255 when a host could not run it.
    let (code, out, err) = exec(&sshd, &["-w", "h1,h2", "exit $(( $(echo $SSH_CONNECTION | cut -d' ' -f3 | cut -d. -f4) - 138 ))"], None);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("ctys-exec: h1: exit 2") && err.contains("ctys-exec: h2: exit 3"), "{err}");
    let (code, _, err) = exec(&sshd, &["-w", "h1,127.0.0.149:1", "-t", "2", "true"], None);
    assert_eq!(code, 255, "{err}");
    // Standard input goes to every host; -x leaves hosts out.
    let (code, out, _) = exec(&sshd, &["-w", "@three", "-x", "h2", "cat"], Some("line one\nline two\n"));
    assert_eq!(code, 0);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["h1: line one", "h1: line two", "h3: line one", "h3: line two"]);
    // -X and --json: one record a host.
    let (_, out, _) = exec(&sshd, &["-w", "h1", "-X", "echo x"], None);
    assert_eq!(out, "h1;0;;;;x\\n;\n");
    let (_, out, _) = exec(&sshd, &["-w", "h1", "--json", "echo x"], None);
    assert!(out.starts_with("{") && out.contains("\"host\":\"h1\"") && out.contains("\"stdout\":\"x\\n\""), "{out}");
    // Misuse: exit 1, naming what is wrong.
    for (args, msg) in [
        (vec!["echo"], "give the hosts with -w HOSTS"),
        (vec!["-w", "h1"], "give the command to run"),
        (vec!["-w", "h1", "-b", "-X", "true"], "-b, -X and --json exclude each other"),
        (vec!["-w", "h1", "--copy", "x"], "--copy needs --dest DIR"),
        (vec!["-w", "h1", "-x", "h1", "true"], "names no host"),
        (vec!["-w", "h1", "--frob", "true"], "unknown option '--frob'"),
    ] {
        let (code, _, err) = exec(&sshd, &args, None);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    // The original's CLI plugin: the same command on targets, commas and all.
    let (code, out, err) = split(bin("ctys", sshd.home.path()).args(["-t", "cli", "-a", "create=cmd:echo a,b; exit 4", "h1", "h3"]).output().unwrap());
    assert_eq!(code, 4, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["h1: a,b", "h3: a,b"]);
}

#[test]
fn standard_input_is_streamed_to_every_host_not_read_whole() {
    let sshd = hosts();
    // The hosts answer the first line while the input is still open: nothing waits for its end.
    let mut c = bin("ctys-exec", sshd.home.path());
    let mut child = c.args(["-w", "@three", "head -n1"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"first\n").unwrap();
    input.flush().unwrap();
    let mut status = None;
    wait_until("ctys-exec to end with its input still open", 30, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    drop(input);
    let (code, out, err) = split(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["h1: first", "h2: first", "h3: first"]);

    // 100 MiB (more than the 64 MiB the input was once read whole into) to three hosts, in
    // flat memory: every host counts every byte. The input is already there while the hosts
    // still connect, which is when a reader that waited only for connected hosts ran ahead (CI
    // measured 69 MB); hosts with a slot hold it back to a 1 MiB window each.
    let script = sshd.home.write(
        "stream.lua",
        r#"local res = assert(ctys.remote.exec{ hosts = { "h1", "h2", "h3" }, cmd = "wc -c", forward_stdin = true, progress = false })
           for _, r in ipairs(res) do print(r.host, r.status, r.err or r.stdout:match("%d+")) end
           print(ctys.fs.read("/proc/self/status"):match("VmHWM:%s*(%d+) kB"))"#,
    );
    let mut child = bin("ctys", sshd.home.path()).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            input.write_all(&block).unwrap();
        }
    });
    let (code, out, err) = split(child.wait_with_output().unwrap());
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["h1\t0\t104857600", "h2\t0\t104857600", "h3\t0\t104857600"], "{err}");
    let hwm_kb: u64 = lines[3].parse().unwrap();
    assert!(hwm_kb < 32 * 1024, "peak RSS {hwm_kb} kB for 100 MiB of standard input to 3 hosts");
}

#[test]
fn copies_both_ways_from_the_command_line() {
    let sshd = hosts();
    let d = TempDir::new("execcopy");
    d.write("src/a", "alpha\n");
    d.write("tree/b", "beta\n");
    let p = d.path().display().to_string();
    let (code, out, err) = exec(&sshd, &["-w", "@three", "--copy", &format!("{p}/src/a"), &format!("{p}/tree"), "--dest", &format!("{p}/out")], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(std::fs::read_to_string(d.path().join("out/a")).unwrap(), "alpha\n");
    assert_eq!(std::fs::read_to_string(d.path().join("out/tree/b")).unwrap(), "beta\n");
    let (code, _, err) = exec(&sshd, &["-w", "h1,h2", "--rcopy", &format!("{p}/out/tree"), "--dest", &format!("{p}/back")], None);
    assert_eq!(code, 0, "{err}");
    for h in ["h1", "h2"] {
        assert_eq!(std::fs::read_to_string(d.path().join(format!("back/{h}/tree/b"))).unwrap(), "beta\n");
    }
    let (code, _, err) = exec(&sshd, &["-w", "h1", "--copy", &format!("{p}/missing"), "--dest", &format!("{p}/out")], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing: no such file or directory"), "{err}");
}

#[test]
fn distribute_puts_ctys_where_the_relay_finds_it() {
    // The sessions' HOME is a directory of the test's (SetEnv), not this machine's /root.
    let home = TempDir::new("disthome");
    let sshd = Sshd::start_env(144, 2, &format!("HOME={}", home.path().display()));
    let hosts = format!("{},{}", sshd.target(0), sshd.target(1));
    let plugins = || split(bin("ctys-plugins", sshd.home.path()).env_remove("CTYS_REMOTE_CMD").args(["-X", &sshd.target(0)]).output().unwrap());
    // No ctys on the host's PATH (nor in its ~/.ctys/bin): the relay cannot run there.
    let (code, _, err) = plugins();
    assert_eq!(code, 3, "{err}");
    let (code, out, err) = split(bin("ctys-distribute", sshd.home.path()).args(["-w", &hosts, "-n"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{}/.ctys/bin/ctys and link ctys-vnetctl", home.path().display())), "{out}");
    assert!(!home.path().join(".ctys").exists(), "-n copies nothing");
    let (code, out, err) = split(bin("ctys-distribute", sshd.home.path()).args(["-w", &hosts]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&format!("{}: ~/.ctys/bin/ctys ({}) and its ctys-* names", sshd.target(0), env!("CARGO_PKG_VERSION"))), "{out}");
    let bin_dir = home.path().join(".ctys/bin");
    assert_eq!(std::fs::read(bin_dir.join("ctys")).unwrap(), std::fs::read(env!("CARGO_BIN_EXE_ctys")).unwrap(), "the ctys binary, which answers to every name");
    assert_eq!(std::fs::read_link(bin_dir.join("ctys-vnetctl")).unwrap(), std::path::Path::new("ctys"));
    // Now the relay finds ~/.ctys/bin/ctys.
    let (code, out, err) = plugins();
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with(&format!("{};ctys;ok;", sshd.target(0)))), "{out}");
}
