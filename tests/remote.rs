//! Remote execution against a real, private sshd on 127.0.0.x (never a mock): fan-out,
//! dead and hanging hosts, host-key discipline, exit statuses and signals, byte-exact output,
//! timeouts that kill the remote command, relay of a ctys action, run_lua.
mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::sshd::{free_port, Sshd};
use common::{bin, split, TempDir};

/// Runs a Lua script with `ctys` as the sshd's client user; returns (code, stdout, stderr).
fn lua(sshd: &Sshd, script: &str) -> (i32, String, String) {
    let f = sshd.home.write("script.lua", script);
    split(bin("ctys", sshd.home.path()).arg(f).output().unwrap())
}

#[test]
fn fan_out_32_hosts_with_a_dead_and_a_hanging_one() {
    let sshd = Sshd::start(2, 32);
    let closed = free_port();
    let hang = TcpListener::bind("127.0.0.1:0").unwrap(); // accepts in the kernel, never answers
    let mut hosts: Vec<String> = (0..32).map(|i| sshd.target(i)).collect();
    hosts.insert(5, format!("127.0.0.1:{closed}"));
    hosts.insert(20, format!("127.0.0.1:{}", hang.local_addr().unwrap().port()));
    let list: String = hosts.iter().map(|h| format!("{h:?},")).collect();
    let t0 = Instant::now();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local res = assert(ctys.remote.exec{{ hosts = {{ {list} }}, connect_timeout = 2, progress = false,
                   cmd = "echo $SSH_CONNECTION; echo err-$SSH_CONNECTION >&2; exit 4" }})
               for _, r in ipairs(res) do
                 print(table.concat({{ r.host, tostring(r.status), r.kind or "-", r.stdout:gsub("\n", "|"), r.stderr:gsub("\n", "|") }}, " ; "))
               end"#
        ),
    );
    let elapsed = t0.elapsed();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 34, "{out}");
    for (line, host) in lines.iter().zip(&hosts) {
        let f: Vec<&str> = line.split(" ; ").collect();
        assert_eq!(f[0], host, "results stay in input order, named as given");
        if host.starts_with("127.0.0.1:") {
            continue;
        }
        // Each host's own output: sshd reports the address the client reached.
        let (addr, port) = host.split_once(':').unwrap();
        assert_eq!(f[1], "4", "{line}");
        assert!(f[3].starts_with("127.0.0.1 ") && f[3].ends_with(&format!(" {addr} {port}|")), "{line}");
        assert_eq!(f[4], format!("err-{}", f[3]), "stderr separate and intact: {line}");
    }
    assert!(lines[5].contains(" ; nil ; connect ; "), "closed port: {}", lines[5]);
    assert!(lines[20].contains(" ; nil ; timeout ; "), "silent listener: {}", lines[20]);
    // Sanity bound only (not a benchmark): the dead hosts cost their own 2 s, not the run's.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

#[test]
fn sessions_last_one_login_per_host_for_ten_execs_and_a_broken_one_is_reopened() {
    let sshd = Sshd::start(120, 3);
    let list: String = (0..3).map(|i| format!("{:?},", sshd.target(i))).collect();
    let pids: Vec<String> = sshd.pids().iter().map(u32::to_string).collect();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local function run()
                 local seen = {{}}
                 for _, r in ipairs(assert(ctys.remote.exec{{ hosts = {{ {list} }}, cmd = "echo $PPID", progress = false }})) do
                   assert(r.status == 0, r.err)
                   seen[#seen + 1] = r.stdout
                 end
                 return table.concat(seen)
               end
               local first = run()
               for _ = 2, 10 do assert(run() == first, "the same sshd session process served every exec") end
               print("ten execs, one session each")
               -- The sshd processes of those sessions end: the next exec finds its pooled
               -- sessions dead and opens new ones, once each.
               assert(ctys.proc.run{{ argv = {{ "pkill", "-P", "{pids}" }} }})
               ctys.sleep(0.3)
               assert(run() ~= first)
               print("re-opened")"#,
            pids = pids.join(",")
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ten execs, one session each\nre-opened\n");
    assert_eq!(sshd.logins(), 6, "three logins for ten execs, three after the sessions broke");
}

#[test]
fn a_session_handle_runs_exec_copy_fetch_and_lua_on_one_login() {
    let sshd = Sshd::start(123, 1);
    let dir = TempDir::new("session-handle");
    std::fs::write(dir.path().join("conf"), "k=v\n").unwrap();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local s = assert(ctys.remote.session{{ host = {t:?} }})
               local pid = s:exec("echo $PPID").stdout
               assert(s:exec("echo $PPID").stdout == pid, "the same sshd session process")
               assert(not s:copy{{ src = "{d}/conf", dest = "{d}/remote/" }}.err)
               local back = assert(s:fetch{{ src = "{d}/remote/conf", dest = "{d}/back" }})
               assert(not back.err, back.err)
               local r = s:exec("cat {d}/remote/conf", {{ timeout = 5 }})
               print(r.status, r.stdout)
               print(s:close(), s:close())
               print(s:exec("echo $PPID").stdout ~= pid)
               print(ctys.remote.session{{ host = "127.0.0.1:1", connect_timeout = 2 }})
               print(pcall(s.exec, s, "true", {{ hosts = "x" }}))"#,
            t = sshd.target(0),
            d = dir.path().display()
        ),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..4], ["0\tk=v", "", "1\t0", "true"], "{out}");
    assert!(lines[4].starts_with("nil\t127.0.0.1:1: connect") && lines[4].ends_with("\tconnect"), "{}", lines[4]);
    assert_eq!(lines[5], "false\tctys.remote.Session:exec: bad argument 'opts.hosts': a session has its one host");
    // Exec, copy, fetch and exec again on one login; the exec after close logged in anew.
    assert_eq!(sshd.logins(), 2, "{err}");
}

#[test]
fn host_keys_unknown_changed_revoked_hashed_and_accept_new() {
    let sshd = Sshd::start(40, 1);
    let target = sshd.target(0);
    let fp = sshd.fingerprint();
    let kh = sshd.known_hosts();
    let run = |strict: &str| {
        lua(&sshd, &format!(r#"local r = assert(ctys.remote.exec{{ hosts = "{target}", cmd = "echo ok", strict = "{strict}", progress = false }})[1]
                               print(r.kind or "ok", r.err or r.stdout)"#))
        .1
    };
    // Unknown: refused, with the fingerprint and the file to edit.
    sshd.write_known_hosts("");
    let out = run("strict");
    assert!(out.starts_with("hostkey\t") && out.contains(&fp) && out.contains(&kh.display().to_string()), "{out}");
    assert!(out.contains("not known"), "{out}");
    // Changed: another key of the same type on file for this host.
    let other = TempDir::new("otherkey");
    let okey = other.path().join("k");
    Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&okey).status().unwrap();
    let otext = std::fs::read_to_string(okey.with_extension("pub")).unwrap();
    let okey_line = otext.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    sshd.write_known_hosts(&format!("[{}]:{} {okey_line}\n", sshd.addrs[0], sshd.port));
    let out = run("strict");
    assert!(out.contains("HOST KEY CHANGED") && out.contains(&fp) && out.contains(":1 holds another key"), "{out}");
    assert!(run("accept-new").contains("HOST KEY CHANGED"), "accept-new never accepts a changed key");
    // Revoked: refused even though a matching line exists.
    sshd.write_known_hosts(&format!("{}@revoked * {}\n", sshd.known_line(&sshd.addrs[0]), sshd.host_key()));
    let out = run("strict");
    assert!(out.contains("REVOKED") && out.contains(":2;"), "{out}");
    // accept-new adds an unknown key, then strict accepts it.
    sshd.write_known_hosts("");
    assert_eq!(run("accept-new"), "ok\tok\n\n");
    let added = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(added, sshd.known_line(&sshd.addrs[0]));
    assert_eq!(run("strict"), "ok\tok\n\n");
    // Hashed entries (ssh-keygen -H) are honoured.
    let st = Command::new("ssh-keygen").args(["-q", "-H", "-f"]).arg(&kh).status().unwrap();
    assert!(st.success());
    assert!(std::fs::read_to_string(&kh).unwrap().starts_with("|1|"));
    assert_eq!(run("strict"), "ok\tok\n\n");
    // One Latin-1 byte in a comment spoils only its own line.
    let latin1 = |body: &str| {
        let mut b = b"# caf\xe9\n".to_vec();
        b.extend_from_slice(body.as_bytes());
        std::fs::write(&kh, b).unwrap();
    };
    latin1(&sshd.known_line(&sshd.addrs[0]));
    assert_eq!(run("strict"), "ok\tok\n\n", "a known host stays known");
    latin1(&format!("@revoked * {}\n", sshd.host_key()));
    let out = run("accept-new");
    assert!(out.contains("REVOKED") && out.contains(":2;"), "accept-new never adds a revoked key: {out}");
    latin1(&format!("[{}]:{} {okey_line}", sshd.addrs[0], sshd.port));
    assert!(run("accept-new").contains("HOST KEY CHANGED"));
    let mut want = b"# caf\xe9\n".to_vec();
    want.extend_from_slice(format!("[{}]:{} {okey_line}", sshd.addrs[0], sshd.port).as_bytes());
    assert_eq!(std::fs::read(&kh).unwrap(), want, "nothing appended");
    // A file without its last newline: accept-new adds one before the new line.
    latin1("# the end, no newline");
    assert_eq!(run("accept-new"), "ok\tok\n\n");
    let text = std::fs::read(&kh).unwrap();
    assert!(text.ends_with(format!("# the end, no newline\n{}", sshd.known_line(&sshd.addrs[0])).as_bytes()), "{}", String::from_utf8_lossy(&text));
    // An ssh_config with a Latin-1 comment still works; a known_hosts that cannot be read is an error.
    sshd.home.write(".ssh/config", "");
    std::fs::write(sshd.home.path().join(".ssh/config"), b"# d\xe9j\xe0 vu\nHost *\n  ConnectTimeout 5\n").unwrap();
    assert_eq!(run("strict"), "ok\tok\n\n");
    std::fs::remove_file(&kh).unwrap();
    std::fs::create_dir(&kh).unwrap();
    let out = run("strict");
    assert!(out.starts_with("hostkey\t") && out.contains("cannot read"), "{out}");
}

#[test]
fn statuses_signals_stdin_env_and_10_mb_byte_exact() {
    let sshd = Sshd::start(41, 1);
    let data = TempDir::new("data");
    let a: Vec<u8> = (0..10_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let b: Vec<u8> = a.iter().rev().copied().collect();
    std::fs::write(data.path().join("a"), &a).unwrap();
    std::fs::write(data.path().join("b"), &b).unwrap();
    let d = data.path().display();
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local function one(t) t.hosts = "{target}"; t.progress = false; return assert(ctys.remote.exec(t))[1] end
               local r = one{{ cmd = "exit 7" }}
               print("exit", r.status, r.signal, r.err)
               r = one{{ cmd = "kill -KILL $$" }}
               print("signal", r.status, r.signal, r.err)
               r = one{{ cmd = "cat {d}/a; cat {d}/b >&2" }}
               local function file(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
               print("bytes", #r.stdout, #r.stderr, r.stdout == file("{d}/a"), r.stderr == file("{d}/b"), r.status)
               r = one{{ cmd = "wc -c; printf %s \"$GREETING\"", stdin = string.rep("x", 300000), env = {{ GREETING = "it's ok" }} }}
               print("stdin", (r.stdout:gsub("%s+", " ")))
               local res = assert(ctys.remote.exec{{ hosts = {{ "{target}", "{target}", {{ host = "{host}", port = {port} }} }}, cmd = "echo x", progress = false }})
               print("duplicates", #res, res[1].host, res[2].host, res[3].host, res[3].stdout)"#,
            target = sshd.target(0),
            host = sshd.addrs[0],
            port = sshd.port
        ),
    );
    assert_eq!(code, 0, "{err}");
    let t = sshd.target(0);
    assert_eq!(
        out,
        format!("exit\t7\tnil\tnil\nsignal\tnil\tKILL\tnil\nbytes\t10000000\t10000000\ttrue\ttrue\t0\nstdin\t300000 it's ok\nduplicates\t3\t{t}\t{t}\t{t}\tx\n\n")
    );
}

#[test]
fn a_timeout_kills_the_remote_command() {
    let sshd = Sshd::start(42, 1);
    let marker = format!("sleep {}.25", 40000 + std::process::id() % 10000);
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local r = assert(ctys.remote.exec{{ hosts = "{}", cmd = "{marker}; echo not-reached", timeout = 1, progress = false }})[1]
               print(r.kind, r.err)"#,
            sshd.target(0)
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("timeout\t") && out.contains("timed out after 1 s") && out.contains("sent SIGTERM"), "{out}");
    common::wait_until("the remote command to end after its timeout", 5, || Command::new("pgrep").args(["-f", &marker]).output().unwrap().stdout.is_empty());
}

#[test]
fn relay_runs_the_action_on_the_target_and_returns_its_status() {
    let sshd = Sshd::start(3, 1);
    let site = TempDir::new("site");
    site.write(
        "ctys/actions/probe.lua",
        "return { create = function(req) print('ran via', os.getenv('SSH_CONNECTION'), req.action.by_key.LABEL.value, req.debug) return 3 end }",
    );
    // The target's port comes from ~/.ssh/config, so the target reads as in the issue: 127.0.0.3.
    sshd.home.write(".ssh/config", &format!("Host 127.0.0.3\n    Port {}\n", sshd.port));
    let remote_cmd = format!("env CTYS_LUA_PATH={} CTYS_NO_DNS=1 {}", site.path().display(), env!("CARGO_BIN_EXE_ctys"));
    let (code, out, err) = split(
        bin("ctys", sshd.home.path())
            .env("CTYS_LUA_PATH", site.path())
            .env("CTYS_REMOTE_CMD", &remote_cmd)
            .args(["-t", "probe", "-a", "create=l:x", "127.0.0.3(-d 1)"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 3, "the remote exit status comes back: {err}");
    assert!(out.starts_with("ran via\t127.0.0.1 ") && out.contains(&format!(" 127.0.0.3 {}\tx\t1\n", sshd.port)), "{out}");
    assert!(err.contains("127.0.0.3: exit 3"), "{err}");
}

#[test]
fn run_lua_round_trips_a_table() {
    let sshd = Sshd::start(43, 2);
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local res = assert(ctys.remote.run_lua{{ hosts = {{ "{}", "{}" }}, remote_cmd = "CTYS_NO_DNS=1 {}", progress = false,
                 chunk = "print('chatter') return {{ a = 1, b = {{ 'x', true, 2.5 }}, s = 'q\"\\n\\0' }}, 42, nil" }})
               for _, r in ipairs(res) do
                 print(r.ok, r.values.n, r.values[1].a, r.values[1].b[1], r.values[1].b[2], r.values[1].b[3], r.values[1].s == 'q"\n\0', r.values[2], r.stdout)
               end
               local bad = assert(ctys.remote.run_lua{{ hosts = "{}", remote_cmd = "{}", chunk = "error('remote boom')", progress = false }})[1]
               print(bad.ok, bad.values[1])"#,
            sshd.target(0),
            sshd.target(1),
            env!("CARGO_BIN_EXE_ctys"),
            sshd.target(0),
            env!("CARGO_BIN_EXE_ctys"),
        ),
    );
    assert_eq!(code, 0, "{err}");
    // stdout is what the chunk printed itself, results apart.
    assert_eq!(out, "true\t3\t1\tx\ttrue\t2.5\ttrue\t42\tchatter\n\n".repeat(2) + "false\trun_lua:1: remote boom\n");
}

#[test]
fn output_modes_and_failure_lines_on_the_command_line() {
    let sshd = Sshd::start(50, 4);
    let site = TempDir::new("site");
    site.write("ctys/actions/probe.lua", "return { create = function(req) print('same') return 0 end }");
    let remote_cmd = format!("env CTYS_LUA_PATH={} CTYS_NO_DNS=1 {}", site.path().display(), env!("CARGO_BIN_EXE_ctys"));
    let dead = format!("127.0.0.1:{}", free_port());
    let run = |extra: &[&str]| {
        let mut c = bin("ctys", sshd.home.path());
        c.env("CTYS_LUA_PATH", site.path()).env("CTYS_REMOTE_CMD", &remote_cmd).args(["-t", "probe", "-a", "create=x"]);
        c.args(extra);
        for i in 0..4 {
            c.arg(sshd.target(i));
        }
        split(c.arg(&dead).output().unwrap())
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, 255, "a host that could not run it makes 255");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, (50..54).map(|i| format!("127.0.0.{i}:{}: same", sshd.port)).collect::<Vec<_>>());
    assert_eq!(err.lines().next().unwrap_or_default(), format!("ctys: {dead}: connect {dead}: Connection refused (os error 111)"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // -b seq: one target after another, so the lines come in target order.
    let (_, out, _) = run(&["-b", "sync,seq"]);
    assert_eq!(out, (50..54).map(|i| format!("127.0.0.{i}:{}: same\n", sshd.port)).collect::<String>());
    let (_, out, _) = run(&["--gather"]);
    assert_eq!(out, format!("---------------\n127.0.0.[50-53]:{} (4)\n---------------\nsame\n", sshd.port));
    let (_, out, _) = run(&["-X"]);
    assert!(out.starts_with(&format!("127.0.0.50:{};0;;;;same\\n;\n", sshd.port)) && out.contains(&format!(";connect;{dead}: connect")), "{out}");
    let (_, out, _) = run(&["--json"]);
    assert!(out.starts_with(&format!(r#"{{"err":null,"host":"127.0.0.50:{}","kind":null,"signal":null,"status":0,"stderr":"","stdout":"same\n"}}"#, sshd.port)), "{out}");
    assert_eq!(out.lines().count(), 5);
}

#[test]
fn misuse_raises_naming_the_argument() {
    let home = TempDir::new("misuse");
    for (chunk, msg) in [
        ("ctys.remote.exec{ cmd = 'x' }", "ctys.remote.exec: missing option 'hosts'"),
        ("ctys.remote.exec{ hosts = 'h', cmd = 'x', strict = 'maybe' }", "bad argument 'strict': \"maybe\" is not one of strict, accept-new, off"),
        ("ctys.remote.exec{ hosts = 'h', cmd = 'x', timeout = -1 }", "bad argument 'timeout': expected a positive number, got -1"),
        ("ctys.remote.exec{ hosts = 'h:99999', cmd = 'x' }", "'h:99999'"),
        ("ctys.remote.exec{ hosts = 'h', cmd = 'x', bogus = 1 }", "unknown option 'bogus'"),
    ] {
        let (code, _, err) = split(bin("ctys", home.path()).args(["-e", chunk]).output().unwrap());
        assert_eq!(code, 1, "{chunk}: {err}");
        assert!(err.contains(msg), "{chunk}: {err}");
    }
}

#[test]
fn pty_mode_gives_the_command_a_terminal() {
    let sshd = Sshd::start(44, 1);
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local r = assert(ctys.remote.exec{{ hosts = "{}", cmd = "tty; echo to-err >&2", pty = true, progress = false }})[1]
               print(r.status, r.stdout:match("^/dev/pts/%d+") ~= nil, r.stdout:find("to-err", 1, true) ~= nil, r.stderr)"#,
            sshd.target(0)
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "0\ttrue\ttrue\t\n", "stdout and stderr arrive merged under a pty");
}

fn keygen(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    let st = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"]).arg(&p).status().unwrap();
    assert!(st.success());
    p
}

#[test]
fn agent_keys_are_all_offered_and_config_and_identity_options_apply() {
    let sshd = Sshd::start(45, 1);
    let keys = TempDir::new("keys");
    // The right key is the third in the agent: libssh2's userauth_agent would try only the first.
    let wrong1 = keygen(&keys, "wrong1");
    let wrong2 = keygen(&keys, "wrong2");
    let right = keys.path().join("right");
    std::fs::rename(sshd.home.path().join(".ssh/id_ed25519"), &right).unwrap();
    std::fs::rename(sshd.home.path().join(".ssh/id_ed25519.pub"), right.with_extension("pub")).unwrap();
    let sock = keys.path().join("agent.sock");
    let agent = Command::new("ssh-agent").arg("-a").arg(&sock).output().unwrap();
    assert!(agent.status.success());
    let pid: String = String::from_utf8_lossy(&agent.stdout).split("SSH_AGENT_PID=").nth(1).unwrap().split(';').next().unwrap().to_string();
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(&self.0).status();
        }
    }
    let _agent = Kill(pid);
    for k in [&wrong1, &wrong2, &right] {
        let st = Command::new("ssh-add").arg("-q").arg(k).env("SSH_AUTH_SOCK", &sock).status().unwrap();
        assert!(st.success());
    }
    let script = |extra: &str| {
        format!(r#"local r = assert(ctys.remote.exec{{ hosts = "{}", cmd = "echo in", progress = false {extra} }})[1] print(r.kind or "ok", r.err or r.stdout)"#, sshd.target(0))
    };
    let f = sshd.home.write("a.lua", &script(""));
    let (_, out, _) = split(bin("ctys", sshd.home.path()).arg(&f).env("SSH_AUTH_SOCK", &sock).output().unwrap());
    assert_eq!(out, "ok\tin\n\n", "agent auth with the third key");
    // Without the agent and without a key file: refused, naming what was tried, no prompt.
    let (_, out, _) = split(bin("ctys", sshd.home.path()).arg(&f).output().unwrap());
    assert!(out.starts_with("auth\t") && out.contains("no password prompt"), "{out}");
    // identity= names a key outside ~/.ssh.
    let f = sshd.home.write("b.lua", &script(&format!(", identity = {:?}", right.display().to_string())));
    let (_, out, _) = split(bin("ctys", sshd.home.path()).arg(&f).output().unwrap());
    assert_eq!(out, "ok\tin\n\n");
    // ~/.ssh/config: IdentityFile and UserKnownHostsFile for the host.
    let kh = keys.path().join("kh");
    std::fs::rename(sshd.known_hosts(), &kh).unwrap();
    sshd.home.write(
        ".ssh/config",
        &format!("Host {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n", sshd.addrs[0], right.display(), kh.display()),
    );
    let f = sshd.home.write("c.lua", &script(""));
    let (_, out, _) = split(bin("ctys", sshd.home.path()).arg(&f).output().unwrap());
    assert_eq!(out, "ok\tin\n\n");
}

#[test]
fn ctrl_c_during_a_fan_out_kills_the_remote_commands() {
    let sshd = Sshd::start(46, 2);
    let marker = format!("sleep {}.75", 50000 + std::process::id() % 10000);
    let f = sshd.home.write(
        "s.lua",
        &format!(
            r#"ctys.remote.exec{{ hosts = {{ "{}", "{}" }}, cmd = "{marker}", progress = false }} print("not reached")"#,
            sshd.target(0),
            sshd.target(1)
        ),
    );
    let child = bin("ctys", sshd.home.path()).arg(&f).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let running = |n: usize| {
        let out = Command::new("pgrep").args(["-f", &marker]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count() >= n
    };
    common::wait_until("the remote commands to start", 10, || running(2));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(out.stdout.is_empty());
    common::wait_until("the remote commands to end after Ctrl-C", 5, || !running(1));
}

#[test]
fn live_progress_only_on_a_terminal() {
    let sshd = Sshd::start(47, 2);
    let script = sshd.home.write(
        "p.lua",
        &format!(
            r#"local r = ctys.remote.exec{{ hosts = {{ "{}", "{}" }}, cmd = "sleep 2" }}
               print("finished", r[1].status, r[2].status)
               if ctys.core.isatty("stdout") then ctys.sleep(30) end"#,
            sshd.target(0),
            sshd.target(1)
        ),
    );
    // Not a terminal: nothing on stderr.
    let (code, out, err) = split(bin("ctys", sshd.home.path()).arg(&script).output().unwrap());
    assert_eq!((code, out.as_str(), err.as_str()), (0, "finished\t0\t0\n", ""));
    // A terminal: a live line after a second, cleared when the fan-out ends.
    let t = common::tmux::Tmux::start(sshd.home.path(), &script.display().to_string());
    t.wait("the progress line", |s| s.contains("ctys: 0 done, 0 failed, 2 running ("));
    // tmux renders the tabs as blanks.
    let screen = t.wait("the end", |s| s.split_whitespace().collect::<Vec<_>>().windows(3).any(|w| w == ["finished", "0", "0"]));
    assert!(!screen.contains("running"), "the progress line was not cleared:\n{screen}");
}

/// Starts `ctys script` running `cmd` on two hosts; returns the child once both run it.
fn fan_out_running(sshd: &Sshd, marker: &str, cmd: &str, wrapper: &[&str]) -> std::process::Child {
    let f = sshd.home.write(
        "sig.lua",
        &format!(r#"ctys.remote.exec{{ hosts = {{ "{}", "{}" }}, cmd = "{cmd}", progress = false }} print("not reached")"#, sshd.target(0), sshd.target(1)),
    );
    let base = bin("ctys", sshd.home.path());
    // Another program in front (timeout 3 ctys ...), with the same environment.
    let mut c = match wrapper {
        [] => base,
        [prog, args @ ..] => {
            let mut w = Command::new(prog);
            w.args(args).arg(base.get_program()).current_dir(env!("CARGO_MANIFEST_DIR"));
            for (k, v) in base.get_envs() {
                match v {
                    Some(v) => w.env(k, v),
                    None => w.env_remove(k),
                };
            }
            w
        }
    };
    let child = c.arg(&f).stdout(std::process::Stdio::piped()).spawn().unwrap();
    common::wait_until("the remote commands to start", 10, || common::running(marker) >= 2);
    child
}

#[test]
fn term_hup_and_timeout_1_kill_the_remote_commands_too() {
    use nix::sys::signal::{kill, Signal};
    let sshd = Sshd::start(47, 2);
    for (n, sig) in [(1u32, Some(Signal::SIGTERM)), (2, Some(Signal::SIGHUP)), (3, None)] {
        let marker = format!("sleep {}.{n}5", 51000 + std::process::id() % 10000);
        let wrapper: &[&str] = if sig.is_none() { &["timeout", "3"] } else { &[] };
        let child = fan_out_running(&sshd, &marker, &marker, wrapper);
        if let Some(sig) = sig {
            kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let want = sig.map_or(124, |s| 128 + s as i32);
        assert_eq!(out.status.code(), Some(want), "{sig:?}");
        assert!(out.stdout.is_empty());
        common::wait_until(&format!("the remote commands to end after {sig:?}"), 5, || common::running(&marker) == 0);
    }
}

#[test]
fn a_remote_command_that_ignores_sigterm_gets_sigkill() {
    let sshd = Sshd::start(49, 1);
    let marker = format!("sleep {}.35", 52000 + std::process::id() % 10000);
    let (code, out, err) = lua(
        &sshd,
        &format!(
            r#"local r = assert(ctys.remote.exec{{ hosts = "{}", cmd = "trap '' TERM; {marker}", timeout = 1, progress = false }})[1]
               print(r.kind, r.err)"#,
            sshd.target(0)
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("timeout\t") && out.contains("sent SIGTERM, then SIGKILL"), "{out}");
    common::wait_until("the TERM-proof command to be gone", 5, || common::running(&marker) == 0);
}

#[test]
fn a_session_that_stalls_mid_command_still_ends_the_command() {
    use nix::sys::signal::{kill, Signal};
    let sshd = Sshd::start(50, 1);
    let marker = format!("sleep {}.45", 53000 + std::process::id() % 10000);
    let f = sshd.home.write(
        "stall.lua",
        &format!(
            // `exec`: the command replaces the shell (as bash does with a simple command), so
            // only its environment still carries the tag.
            r#"local r = assert(ctys.remote.exec{{ hosts = "{}", cmd = "exec {marker}", timeout = 3, progress = false }})[1]
               print(r.kind, r.err)"#,
            sshd.target(0)
        ),
    );
    let child = bin("ctys", sshd.home.path()).arg(&f).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    common::wait_until("the remote command to start", 10, || common::running(&marker) >= 1);
    // The session's sshd processes stop answering (the listener still accepts new connections).
    let stopped: Vec<i32> = {
        let o = Command::new("pgrep").args(["-f", "sshd: .*@notty"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
    };
    assert!(!stopped.is_empty(), "no session sshd found");
    for p in &stopped {
        let _ = kill(nix::unistd::Pid::from_raw(*p), Signal::SIGSTOP);
    }
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    let elapsed = t0.elapsed();
    for p in &stopped {
        let _ = kill(nix::unistd::Pid::from_raw(*p), Signal::SIGCONT);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("timeout\t") && text.contains("found by its tag over a new connection"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(common::running(&marker), 0, "the command survived its stalled session");
    // A hang guard, not a benchmark.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}
