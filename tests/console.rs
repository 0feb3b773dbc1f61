//! `ctys.remote.console` against a real, private sshd on 127.0.0.6x: in a real pty under tmux
//! (command, interactive shell, window size and its changes, the terminal given back in cooked
//! mode) and with stdin from a pipe.
mod common;

use std::io::Write;
use std::process::Stdio;

use common::sshd::Sshd;
use common::tmux::Tmux;
use common::{bin, split};

/// Runs the console in tmux; the pane's shell then prints the exit value and the terminal's
/// modes and stays, so the screen can be read after ctys has ended.
fn console_in_tmux(sshd: &Sshd, fields: &str) -> Tmux {
    let lua = format!(r#"os.exit(ctys.remote.console{{ host = "{}"{fields} }})"#, sshd.target(0));
    Tmux::start(sshd.home.path(), &format!("-e '{lua}'; echo rc=$?; stty -a; sleep 60"))
}

/// `rows R; columns C` from `stty -a` on the screen.
fn local_size(screen: &str) -> (u32, u32) {
    let num = |key: &str| -> u32 {
        let at = screen.find(key).unwrap_or_else(|| panic!("no {key:?} in:\n{screen}")) + key.len();
        screen[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    (num("rows "), num("columns "))
}

/// The words of the `stty -a` output (it follows the rc= line).
fn stty_words(screen: &str) -> Vec<&str> {
    let at = screen.find("rc=").unwrap();
    screen[at..].split(|c: char| c.is_whitespace() || c == ';').collect()
}

fn remote_sizes(screen: &str) -> Vec<(u32, u32)> {
    screen
        .lines()
        .filter_map(|l| {
            let (r, c) = l.trim().split_once(' ')?;
            Some((r.parse().ok()?, c.parse().ok()?))
        })
        .collect()
}

#[test]
fn command_in_a_pty_exits_with_its_status() {
    let sshd = Sshd::start(60, 1);
    let t = console_in_tmux(&sshd, r#", cmd = "echo hello-$((6*7)); exit 7""#);
    let s = t.wait("the exit value", |s| s.contains("rc=7") && s.contains("icanon"));
    assert!(s.contains("hello-42"), "{s}");
    let words = stty_words(&s);
    assert!(words.contains(&"icanon") && words.contains(&"echo"), "cooked mode again:\n{s}");
}

#[test]
fn interactive_shell_sizes_resize_tty_and_cooked_mode_after() {
    let sshd = Sshd::start(61, 1);
    let t = console_in_tmux(&sshd, "");
    // The remote shell's prompt: the session is up and the terminal raw.
    t.wait("the remote prompt", |s| !s.trim().is_empty());
    t.keys(&["-l", "stty size"]);
    t.keys(&["Enter"]);
    let first = t.wait("the first size", |s| !remote_sizes(s).is_empty());
    let (_, cols) = remote_sizes(&first)[0];
    assert_eq!(cols, 100, "the tmux window's width:\n{first}");

    // A resize reaches the remote pty (SIGWINCH → window-change).
    t.tmux(&["resize-window", "-t", "repl", "-x", "120", "-y", "40"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.keys(&["-l", "stty size; tty; exit 3"]);
    t.keys(&["Enter"]);
    let s = t.wait("the exit value", |s| s.contains("rc=3") && s.contains("icanon"));
    let sizes = remote_sizes(&s);
    assert_eq!(sizes.len(), 2, "{s}");
    assert_eq!(sizes[1], local_size(&s), "the remote pty has the local terminal's size:\n{s}");
    assert_eq!(sizes[1].1, 120, "{s}");
    assert!(s.lines().any(|l| l.trim().starts_with("/dev/pts/")), "a remote pty:\n{s}");
    // Raw mode: only the remote pty echoed the keys (a cooked terminal would have too).
    assert_eq!(s.matches("stty size; tty; exit 3").count(), 1, "{s}");
    let words = stty_words(&s);
    assert!(words.contains(&"icanon") && words.contains(&"echo"), "cooked mode again:\n{s}");
    assert!(!words.contains(&"-icanon") && !words.contains(&"-echo"), "{s}");
}

#[test]
fn without_a_tty_stdin_is_piped_and_failures_are_returned() {
    let sshd = Sshd::start(62, 1);
    let target = sshd.target(0);
    let mut child = bin("ctys", sshd.home.path())
        .args(["-e", &format!(r#"os.exit(ctys.remote.console{{ host = "{target}" }})"#)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"echo piped; tty; exit 5\n").unwrap();
    let (code, out, err) = split(child.wait_with_output().unwrap());
    assert_eq!(code, 5, "{out}\n{err}");
    assert_eq!(out, "piped\nnot a tty\n", "no pty without a terminal, as ssh: {err}");

    // A refused host key: nil, err, kind, and nothing raised.
    let (code, out, err) = split(
        bin("ctys", sshd.home.path())
            .args(["-e", &format!(r#"print(ctys.remote.console{{ host = "{target}", known_hosts = "/dev/null" }})"#)])
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("nil\t") && out.contains("not known") && out.ends_with("\thostkey\n"), "{out}");

    // Stdin closed at once: EOF reaches the remote shell, which ends.
    let (code, _, err) = split(
        bin("ctys", sshd.home.path())
            .args(["-e", &format!(r#"os.exit(ctys.remote.console{{ host = "{target}", cmd = "cat; exit 4" }})"#)])
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(code, 4, "{err}");
}
