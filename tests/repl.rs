//! The REPL in a real pseudo-terminal: tmux runs `ctys --repl`, send-keys types, capture-pane
//! reads the screen.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TempDir;

/// capture-pane drops trailing blanks, so an empty prompt reads "ctys>".
fn is_prompt(line: &str) -> bool {
    line.starts_with("ctys>")
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(home: &std::path::Path) -> Tmux {
        let t = Tmux { socket: format!("ctys-test-{}", std::process::id()) };
        let cmd = format!(
            "env -u CTYS_LUA_PATH -u RUST_LOG CTYS_NO_DNS=1 HOME={} {} --repl",
            home.display(),
            env!("CARGO_BIN_EXE_ctys")
        );
        let ok = t.tmux(&["new-session", "-d", "-s", "repl", "-x", "100", "-y", "50", &cmd]).success();
        assert!(ok, "tmux could not start (is tmux installed? .ci/run installs it)");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::ExitStatus {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).status().expect("tmux is needed for the REPL test")
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", "repl"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred`; returns the screen.
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "waiting for {what}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn prompts(&self) -> usize {
        self.screen().lines().filter(|l| is_prompt(l)).count()
    }

    /// Types a line literally, presses Enter, and waits for the next prompt.
    fn line(&self, text: &str) -> String {
        let before = self.prompts();
        self.tmux(&["send-keys", "-t", "repl", "-l", text]);
        self.tmux(&["send-keys", "-t", "repl", "Enter"]);
        self.wait(&format!("a prompt after {text:?}"), |s| s.lines().filter(|l| is_prompt(l)).count() > before)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "repl"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn repl_in_a_pty() {
    let home = TempDir::new("repl");
    let t = Tmux::start(home.path());
    t.wait("the banner and prompt", |s| s.lines().any(is_prompt));

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
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.tmux(&["has-session", "-t", "repl"]).success() {
        assert!(Instant::now() < deadline, "Ctrl-D did not end the REPL");
        std::thread::sleep(Duration::from_millis(30));
    }
    let history = std::fs::read_to_string(home.path().join(".ctys/history")).unwrap();
    assert!(history.contains("twice(21)") && history.contains("print('still here')"), "{history}");
}
