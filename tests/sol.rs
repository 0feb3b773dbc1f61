//! IPMI Serial-over-LAN against OpenIPMI's ipmi_sim, whose `sol "tcp:..."` line connects the
//! console to a TCP server here standing in for the machine's serial port: a login prompt, then
//! a shell prompt that runs each line it reads. A script logs in over SOL and runs a command;
//! a second session finds the console busy unless it forces; Ctrl-C deactivates it; a BMC
//! that stops answering ends a console with kind timeout.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bmc::{Bmc, PASSWORD};
use common::tmux::Tmux;
use common::{bin, split, wait_until, TempDir};

/// The machine's serial port: as a getty, an empty line gets a login prompt; a name logs in
/// (`# `), and then each line is run by sh and its output and `# ` come back. (What a serial
/// line says before a console is attached is lost, as on real hardware: a script presses
/// Enter first.)
fn serial_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut echo = conn.try_clone().unwrap();
                // A terminal's Enter is \r, a script's \n: either ends a line (a tty's icrnl),
                // and what is typed is echoed, as a tty with echo on does.
                let mut bytes = BufReader::new(conn).bytes();
                let mut next_line = || -> Option<String> {
                    let mut line = Vec::new();
                    loop {
                        match bytes.next()? {
                            Ok(b'\r' | b'\n') => {
                                let _ = echo.write_all(b"\r\n");
                                return Some(String::from_utf8_lossy(&line).into_owned());
                            }
                            Ok(b) => {
                                let _ = echo.write_all(&[b]);
                                line.push(b);
                            }
                            Err(_) => return None,
                        }
                    }
                };
                loop {
                    let Some(line) = next_line() else { return };
                    if !line.trim().is_empty() {
                        break;
                    }
                    let _ = w.write_all(b"lab01 login: ");
                }
                let _ = w.write_all(b"# ");
                loop {
                    let Some(line) = next_line() else { return };
                    if !line.trim().is_empty() {
                        let out = Command::new("sh").args(["-c", line.trim()]).output().map(|o| o.stdout).unwrap_or_default();
                        let _ = w.write_all(&out.iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect::<Vec<u8>>());
                    }
                    let _ = w.write_all(b"# ");
                }
            });
        }
    });
    addr
}

/// Lua: press Enter until the serial line shows `pat` (what it said before the BMC connected
/// to it is lost, as a person at a console would find).
const ENTER: &str = "local function enter(c, pat) for _ = 1, 5 do assert(c:send('\\n')) if c:expect(pat, 2) then return true end end error('no ' .. pat) end ";

fn ctys(home: &TempDir, chunk: &str) -> (i32, String, String) {
    split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).args(["-e", &format!("{ENTER}{chunk}")]).output().unwrap())
}

#[test]
fn a_script_logs_in_over_sol_and_runs_a_command() {
    let serial = serial_port();
    let b = Bmc::start_with_sol("127.0.0.1", &serial);
    let home = TempDir::new("solhome");
    let open = format!("local b = assert(ctys.ipmi.open{{ host = '127.0.0.1', port = {}, user = 'admin', cipher = 3 }})", b.port);
    let (code, out, err) = ctys(&home, &format!(
        "{open}
         local c = assert(b:sol())
         enter(c, 'login: ')
         assert(c:send('root\\n'))
         assert(c:expect('# ', 10))
         assert(c:send('echo $((6*7)) from $(hostname -s 2>/dev/null || echo serial)\\n'))
         assert(c:read_line(10))  -- the command, echoed
         print(assert(c:read_line(10)))
         assert(c:expect('# ', 10))
         -- Another session finds the console busy; force takes it over.
         local b2 = assert(ctys.ipmi.open{{ host = '127.0.0.1', port = {}, user = 'admin', cipher = 3 }})
         local none, e, kind = b2:sol()
         print(none, kind, e)
         local c2 = assert(b2:sol{{ force = true }})
         enter(c2, '# ')
         assert(c2:break_())
         assert(c2:close())
         b2:close()
         print(select(3, c:read(0.5)) or 'first console gone')
         b:close()",
        b.port
    ));
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("42 from "), "{out}");
    assert!(lines[1].starts_with("nil\tbusy\t") && lines[1].contains("take it over with force"), "{out}");
}

#[test]
fn ctrl_c_deactivates_the_console_and_a_silent_bmc_is_a_timeout() {
    let serial = serial_port();
    let b = Bmc::start_with_sol("127.0.0.1", &serial);
    let home = TempDir::new("solhome");
    let script = home.write("hold.lua", &format!(
        "{ENTER}local b = assert(ctys.ipmi.open{{ host = '127.0.0.1', port = {}, user = 'admin', cipher = 3 }})
         local c = assert(b:sol())
         enter(c, 'login: ')
         print('active') io.stdout:flush()
         while true do c:read(1) end",
        b.port
    ));
    // Ctrl-C and SIGTERM while the console is active: it is deactivated (a new session
    // activates without force).
    let open = format!("local b = assert(ctys.ipmi.open{{ host = '127.0.0.1', port = {}, user = 'admin', cipher = 3 }})", b.port);
    for (sig, code) in [(nix::sys::signal::Signal::SIGINT, 130), (nix::sys::signal::Signal::SIGTERM, 143)] {
        let mut child = bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).arg(&script).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "active\n");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(code), "{sig}");
        let (c, out, err) = ctys(&home, &format!("{open} local c = assert(b:sol()) enter(c, 'login: ') print('again') b:close()"));
        assert_eq!(c, 0, "after {sig}: {out}{err}");
    }

    // The BMC stops answering mid-console: the next send gives up within seconds, kind timeout.
    let (pid, stop) = (b.pid(), home.write("stop", ""));
    let chunk = format!(
        "{open} local c = assert(b:sol()) enter(c, 'login: ')
         os.execute('kill -STOP {pid}; touch {}')
         local t0 = ctys.now() local ok, e, kind = c:send('root\\n')
         print(ok, kind, math.floor(ctys.now() - t0)) os.execute('kill -CONT {pid}')",
        stop.display()
    );
    let t0 = Instant::now();
    let (code, out, err) = ctys(&home, &chunk);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("nil\ttimeout\t"), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    wait_until("ipmi_sim to go on", 5, || Command::new("kill").args(["-0", &pid.to_string()]).status().unwrap().success());

    // ctys-ipmi sol when the BMC stops answering: exit 3 within seconds, saying why.
    let mut child = bin("ctys-ipmi", home.path())
        .env("IPMI_PASSWORD", PASSWORD)
        .args(["-C", "3", &format!("127.0.0.1:{}", b.port), "sol", "force"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut err_lines = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    err_lines.read_line(&mut said).unwrap();
    assert!(said.contains("SOL session operational"), "{said}");
    Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap();
    input.write_all(b"root\n").unwrap();
    let t0 = Instant::now();
    let status = child.wait().unwrap();
    Command::new("kill").args(["-CONT", &pid.to_string()]).status().unwrap();
    let mut rest = String::new();
    let _ = err_lines.read_to_string(&mut rest);
    assert_eq!(status.code(), Some(3), "{rest}");
    assert!(rest.contains("did not acknowledge console data"), "{rest}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    drop(input);
}

#[test]
fn ctys_ipmi_sol_on_a_terminal_shows_what_ipmitool_sol_activate_shows() {
    let serial = serial_port();
    let b = Bmc::start_with_sol("127.0.0.1", &serial);
    let ctys_ipmi = format!("env IPMI_PASSWORD={PASSWORD} HOME=/nonexistent {} --tool ipmi -C 3 127.0.0.1:{} sol", env!("CARGO_BIN_EXE_ctys"), b.port);
    let ipmitool = format!("env IPMI_PASSWORD={PASSWORD} ipmitool -I lanplus -C 3 -H 127.0.0.1 -p {} -U admin -E sol activate", b.port);
    let mut seen = Vec::new();
    for (cmd, closed) in [(ctys_ipmi, "[SOL session closed]"), (ipmitool, "terminated ipmitool")] {
        let t = Tmux::start_cmd(&cmd);
        t.wait("the console", |s| s.contains("operational"));
        // The machine's console keeps its state between consoles: the second finds it logged in.
        let prompt = |s: &str| s.lines().any(|l| l.trim_end() == "#");
        for _ in 0..20 {
            t.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(300));
            if t.screen().contains("login:") || prompt(&t.screen()) {
                break;
            }
        }
        if !prompt(&t.screen()) {
            t.keys(&["-l", "root"]);
            t.keys(&["Enter"]);
            t.wait("the shell prompt", prompt);
        }
        t.keys(&["-l", "echo typed-$((40+2)); printf 'a\\tb\\n'"]);
        t.keys(&["Enter"]);
        let screen = t.wait("the command's output", |s| s.contains("typed-42") && s.contains("a       b"));
        seen.push(screen.lines().filter(|l| l.starts_with("typed-") || l.starts_with("a ") || l.contains("echo typed")).map(str::to_string).collect::<Vec<_>>());
        // The escape at the start of a line ends it; the terminal is the shell's again.
        t.keys(&["Enter"]);
        t.keys(&["-l", "~."]);
        let end = t.wait("the console to end", |s| s.contains(closed) && s.contains("EXIT="));
        assert!(end.contains("EXIT=0"), "{end}");
    }
    assert_eq!(seen[0], seen[1], "ctys-ipmi and ipmitool saw different text");
    assert_eq!(seen[0][1..], ["typed-42", "a       b"], "{:?}", seen[0]);
}

#[test]
fn pm_create_console_sol_opens_the_machines_serial_console_from_the_database() {
    let serial = serial_port();
    let b = Bmc::start_with_sol("127.0.0.1", &serial);
    let home = TempDir::new("solhome");
    let db = home.write("machines", &format!("lab51 mac=02:00:00:00:05:01 ip=127.0.0.51 bmc=127.0.0.1:{} bmc_user=admin\n", b.port));
    let env = format!("IPMI_PASSWORD={PASSWORD} CTYS_MACHINES={}", db.display());
    // The dry run names the BMC; nothing is sent.
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", "create=console:sol,l:lab51", "--dry-run"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("CREATE lab51: would open its serial console (Serial-over-LAN) through the BMC 127.0.0.1:{}", b.port)), "{out}");
    let t = Tmux::start_env(home.path(), &env, "-t pm -a create=console:sol,l:lab51; echo EXIT=$?; sleep 60");
    t.wait("the console", |s| s.contains("SOL session operational: lab51's serial console through"));
    for _ in 0..20 {
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(300));
        if t.screen().contains("login:") {
            break;
        }
    }
    t.keys(&["-l", "root"]);
    t.keys(&["Enter"]);
    t.keys(&["-l", "echo pm-$((40+2))"]);
    t.keys(&["Enter"]);
    t.wait("the command's output", |s| s.lines().any(|l| l.trim_end() == "pm-42"));
    t.keys(&["Enter"]);
    t.keys(&["-l", "~."]);
    let end = t.wait("the console to end", |s| s.contains("EXIT="));
    assert!(end.contains("[SOL session closed]") && end.contains("EXIT=0"), "{end}");
    // No BMC in the database: exit 2, saying so.
    home.write("machines", "lab51 mac=02:00:00:00:05:01\n");
    let (code, _, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", "create=console:sol,l:lab51"]).output().unwrap());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("CONSOLE:SOL: no BMC: add bmc= to the machine database"), "{err}");
}
