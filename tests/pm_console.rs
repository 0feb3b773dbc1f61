//! PM CREATE with CONSOLE: the manual's `create=CONSOLE:cli` (a shell here), CLI over SSH to a
//! private sshd in a real pty, and the window consoles started from the command table (a
//! recorder: no window opens).
mod common;

use common::sshd::Sshd;
use common::tmux::Tmux;
use common::{bin, split, TempDir};

#[test]
fn the_manuals_console_line_opens_a_shell_here_and_returns_its_status() {
    let home = TempDir::new("console");
    let t = Tmux::start_env(home.path(), "SHELL=/bin/sh", "-t pm -a create=CONSOLE:cli; echo exit=$?; sleep 60");
    t.wait("the shell's prompt", |s| s.trim_end().ends_with(['$', '#']));
    t.keys(&["-l", "echo in-shell-$((6*7)); exit 4"]);
    t.keys(&["Enter"]);
    let sc = t.wait("the exit", |s| s.contains("exit="));
    assert!(sc.contains("in-shell-42") && sc.contains("exit=4"), "{sc}");
}

#[test]
fn cli_to_a_target_is_an_ssh_session_with_a_terminal() {
    let sshd = Sshd::start(66, 1);
    let target = format!("127.0.0.66:{}", sshd.port);
    let t = Tmux::start(sshd.home.path(), &format!("-t pm -a create=CONSOLE:cli {target}; echo exit=$?; sleep 60"));
    t.wait("the remote shell's prompt", |s| s.trim_end().ends_with(['$', '#']));
    t.keys(&["-l", "tty; echo remote-$((6*7)); exit 5"]);
    t.keys(&["Enter"]);
    let sc = t.wait("the exit", |s| s.contains("exit="));
    assert!(sc.contains("/dev/pts/") && sc.contains("remote-42") && sc.contains("exit=5"), "{sc}");
}

#[test]
fn window_consoles_start_the_command_tables_programs() {
    let home = TempDir::new("console");
    let log = home.path().join("log");
    let rec = home.write("rec.sh", &format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()));
    std::fs::set_permissions(&rec, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let entries: String =
        ["xterm", "gterm", "emacs", "vncviewer"].iter().map(|c| format!("{c} = {{ {:?}, {c:?} }}, ", rec.display().to_string())).collect();
    let table = home.write("commands.lua", &format!("return {{ {entries} }}"));
    let run = |line: &str, display: Option<&str>| {
        let mut cmd = bin("ctys", home.path());
        cmd.env("CTYS_COMMANDS", &table).env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").args(line.split(' '));
        if let Some(d) = display {
            cmd.env("DISPLAY", d);
        }
        split(cmd.output().unwrap())
    };
    let recorded = || {
        // The programs start in the background: wait for their lines.
        common::wait_until("the four programs' lines", 10, || std::fs::read_to_string(&log).unwrap_or_default().lines().count() >= 4);
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    for kind in ["xterm", "GTERM", "emacs", "vnc"] {
        let (code, out, err) = run(&format!("-t pm -a create=CONSOLE:{kind},t:alice@127.0.0.67:2222"), Some(":99"));
        assert_eq!(code, 0, "{kind}: {out}{err}");
        assert!(out.contains(&format!("CONSOLE:{} started", kind.to_uppercase())), "{out}");
    }
    let mut lines: Vec<String> = recorded().lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "emacs --eval (let ((default-directory \"/ssh:alice@127.0.0.67#2222:\")) (shell))",
            "gterm ssh -t -p 2222 alice@127.0.0.67",
            "vncviewer 127.0.0.67",
            "xterm ssh -t -p 2222 alice@127.0.0.67",
        ]
    );
    // No display: exit 2, nothing started; a dry run says what would run; a bad kind exits 1.
    let _ = std::fs::remove_file(&log);
    let (code, _, err) = run("-t pm -a create=CONSOLE:xterm,t:127.0.0.67", None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("CONSOLE:XTERM opens a window and needs a display (DISPLAY is not set)"), "{err}");
    let (code, out, _) = run("-t pm -a create=CONSOLE:xterm,t:127.0.0.67 --dry-run", Some(":99"));
    assert_eq!(code, 0);
    assert!(out.contains("would run ") && out.contains(" xterm ssh -t 127.0.0.67"), "{out}");
    let (code, _, err) = run("-t pm -a create=CONSOLE:telnet", Some(":99"));
    assert_eq!(code, 1);
    assert!(err.contains("unknown CONSOLE 'telnet' (CLI, SOL, XTERM, GTERM, EMACS or VNC)"), "{err}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!log.exists(), "nothing started");
    // A host cannot end the elisp string it goes into: it is not a host name, refused first.
    let (code, out, err) = run(r#"-t pm -a create=CONSOLE:emacs,t:a"b\c --dry-run"#, Some(":99"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(r#"bad t:a"b\c"#) && out.is_empty(), "{out}{err}");
}
