//! `ctys status` and `ctys-vping` without a lab: their refusals, the machine database they read,
//! and `status --watch` on a real terminal (tmux), which every way of ending it (q, Ctrl-C,
//! SIGTERM, SIGHUP) leaves as it found it: the main screen back, echo and line editing on.
mod common;

use common::tmux::Tmux;
use common::{bin, split, TempDir};

#[test]
fn refusals_name_the_bad_token_and_exit_1_before_anything_is_probed() {
    let home = TempDir::new("status");
    let db = home.write("machines", "m1 ip=127.0.0.1\n");
    for (tool, args, msg) in [
        ("ctys", vec!["status", "--watch", "0.1"], "at least 0.5 seconds"),
        ("ctys", vec!["status", "--watch=abc"], "bad --watch interval 'abc'"),
        ("ctys", vec!["status", "--timeout", "-1"], "bad --timeout"),
        ("ctys", vec!["status", "--timeout", "61"], "from more than 0 to 60 seconds"),
        ("ctys", vec!["status", "--json", "-X"], "exclude each other"),
        ("ctys", vec!["status", "--watch", "--json"], "not with -X or --json"),
        ("ctys", vec!["status", "--frob"], "unknown option '--frob'"),
        ("ctys", vec!["status", "bad\u{1}name"], "\"bad\\1name\" is not a machine"),
        ("ctys-vping", vec!["m1", "x y"], "bad target 'x y'"),
        ("ctys-vping", vec![], "give the machines"),
        ("ctys-vping", vec!["-t", "x", "m1"], "bad -t"),
        ("ctys-vping", vec!["-X", "--json", "m1"], "exclude each other"),
    ] {
        let (code, out, err) = split(bin(tool, home.path()).env("CTYS_MACHINES", &db).args(&args).output().unwrap());
        assert_eq!(code, 1, "{tool} {args:?}: {out}{err}");
        assert!(err.contains(msg), "{tool} {args:?}: {err}");
        assert!(out.is_empty(), "{tool} {args:?}: nothing probed: {out}");
    }
    // Not a terminal: --watch says so (exit 2), and an empty database has nothing to show.
    let (code, _, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["status", "--watch", "1"]).output().unwrap());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("status --watch needs a terminal"), "{err}");
    let empty = home.write("empty", "# nothing\n");
    let (code, _, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &empty).args(["status"]).output().unwrap());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no machines"), "{err}");
}

#[test]
fn status_and_vping_read_the_database_and_report_what_does_not_answer() {
    let home = TempDir::new("status");
    // 127.0.0.1 answers ping; nothing listens on port 1, so SSH does not answer.
    let db = home.write("machines", "m1 ip=127.0.0.1\nm2 ip=127.0.0.1 bmc=127.0.0.1:1 bmc_user=admin\n");
    let (code, out, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["status", "--timeout", "0.5"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("MACHINE  POWER  PING"), "{out}");
    assert!(lines[1].starts_with("m1 ") && lines[1].split_whitespace().nth(1) == Some("-"), "no BMC: {out}");
    assert!(lines[2].starts_with("m2 ") && lines[2].split_whitespace().nth(1) == Some("?"), "a BMC that does not answer: {out}");
    assert!(lines.iter().any(|l| l.starts_with("m2: BMC: ")), "its reason: {out}");
    let (code, out, _) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["status", "--json", "--timeout", "0.5", "m1"]).output().unwrap());
    assert_eq!(code, 0);
    assert!(out.starts_with("{") && out.contains("\"name\":\"m1\"") && out.contains("\"power\":null") && out.contains("\"bmc\":null") && out.contains("\"ssh_ms\":null"), "{out}");
    // vping: ping answers, SSH does not: exit 3 with the reason; the port of an address counts.
    let (code, out, _) = split(bin("ctys-vping", home.path()).env("CTYS_MACHINES", &db).args(["-X", "-t", "0.5", "m1", "127.0.0.1:1"]).output().unwrap());
    assert_eq!(code, 3, "{out}");
    assert!(out.lines().any(|l| l.starts_with("m1;127.0.0.1;") && l.contains(";ssh: ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("127.0.0.1;127.0.0.1:1;")), "{out}");
    // A name ~/.ssh/config knows: its HostName and Port are probed, as ssh would go.
    home.write(".ssh/config", "Host m3\n  HostName 127.0.0.1\n  Port 1\n");
    let (code, out, _) = split(bin("ctys-vping", home.path()).env("CTYS_MACHINES", &db).args(["-X", "-t", "0.5", "m3"]).output().unwrap());
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("m3;127.0.0.1:1;") && out.contains(";ssh: "), "{out}");
}

/// What the terminal's settings say of echo and canonical mode, printed after ctys ended.
const AFTER: &str = "echo \"TTY=$(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' ')END\"";

#[test]
fn watch_redraws_in_place_and_every_ending_gives_the_terminal_back() {
    let home = TempDir::new("status");
    let db = home.write("machines", "m1 ip=127.0.0.1\nm2 ip=127.0.0.1\n");
    let run = format!("env CTYS_NO_DNS=1 HOME={} CTYS_MACHINES={} {} status --watch 1 --timeout 0.3", home.path().display(), db.display(), env!("CARGO_BIN_EXE_ctys"));
    for (how, code) in [("q", 0), ("C-c", 130), ("TERM", 143), ("HUP", 129)] {
        let t = Tmux::start_cmd(&format!("{run}; echo EXIT=$?; {AFTER}"));
        let s = t.wait("the table", |s| s.lines().any(|l| l.starts_with("m2 ")));
        assert!(s.starts_with("ctys status "), "drawn from the top: {s}");
        if how == "q" {
            // A smaller terminal: the view is redrawn to fit it, nothing scrolls.
            t.tmux(&["resize-window", "-t", "repl", "-x", "30", "-y", "4"]);
            let s = t.wait("the view cut to 30x4", |s| s.lines().next().is_some_and(|l| l.len() == 30 && l.starts_with("ctys status")));
            assert!(s.lines().filter(|l| !l.is_empty()).count() <= 4, "{s}");
            t.tmux(&["resize-window", "-t", "repl", "-x", "100", "-y", "50"]);
            t.wait("the view back at 100 columns", |s| s.lines().any(|l| l.starts_with("m2 ")));
        }
        if how == "q" || how == "C-c" {
            t.keys(&[how]);
        } else {
            let shell = t.pane_pid();
            let kids = std::process::Command::new("pgrep").args(["-P", &shell]).output().unwrap();
            let pid = String::from_utf8_lossy(&kids.stdout).lines().next().unwrap_or_else(|| panic!("no ctys under the shell {shell}")).to_string();
            assert!(std::process::Command::new("kill").args([&format!("-{how}"), &pid]).status().unwrap().success());
        }
        let s = t.wait(&format!("EXIT={code} after {how}"), |s| s.contains(&format!("EXIT={code}")) && s.contains("END"));
        assert!(!s.contains("MACHINE"), "{how}: the main screen is back: {s}");
        assert!(s.contains("TTY=icanon echo END"), "{how}: line editing and echo are back: {s}");
    }
}
