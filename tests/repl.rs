//! The REPL in a real pseudo-terminal: tmux runs `ctys --repl`, send-keys types, capture-pane
//! reads the screen.
mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::TempDir;

#[test]
fn repl_in_a_pty() {
    let home = TempDir::new("repl");
    let t = Tmux::start(home.path(), "--repl");
    t.wait("the banner and prompt", |s| s.lines().any(common::tmux::is_prompt));

    // Expressions print their values; tables pretty-print.
    assert!(t.line("1+2").contains("ctys> 1+2\n3\n"));
    assert!(t.line("return {a=1, b={2}}").contains("{\n  a = 1,\n  b = {\n    2,\n  },\n}\n"));

    // An incomplete chunk continues on the next line.
    t.keys(&["-l", "function twice(x)"]);
    t.keys(&["Enter"]);
    t.keys(&["-l", "return 2*x"]);
    t.keys(&["Enter"]);
    t.line("end");
    assert!(t.line("twice(21)").contains("twice(21)\n42\n"));

    // Tab completes fields, including submodules not loaded yet.
    t.keys(&["-l", "ctys.pre"]);
    t.keys(&["Tab"]);
    t.wait("completion of ctys.pre", |s| s.contains("ctys> ctys.pretty"));
    t.keys(&["C-u"]);

    // Ctrl-C abandons the line being typed ...
    t.keys(&["-l", "error('should never run')"]);
    t.keys(&["C-c"]);
    assert!(t.line("print('after C-c')").contains("after C-c\n"));
    assert!(!t.screen().contains("should never run\n"));

    // ... and a running statement, and the REPL goes on.
    t.keys(&["-l", "while true do end"]);
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-c"]);
    t.wait("the interruption", |s| s.contains("interrupted"));
    assert!(t.line("print('still here')").contains("still here\n"));

    // Errors print and the session survives.
    assert!(t.line("error('oops')").contains("oops"));

    // Ctrl-D exits; the history file kept the lines.
    t.keys(&["C-d"]);
    common::wait_until("Ctrl-D to end the REPL", 10, || !t.tmux(&["has-session", "-t", "repl"]).success());
    let history = std::fs::read_to_string(home.path().join(".ctys/history")).unwrap();
    assert!(history.contains("twice(21)") && history.contains("print('still here')"), "{history}");
}
