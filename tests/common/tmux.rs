//! A real pseudo-terminal for tests: tmux runs ctys, send-keys types, capture-pane reads.
use std::process::Command;
use std::time::{Duration, Instant};

/// capture-pane drops trailing blanks, so an empty prompt reads "ctys>".
pub fn is_prompt(line: &str) -> bool {
    line.starts_with("ctys>")
}

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `ctys ARGS` (ARGS as shell words) in a 100x50 terminal with HOME set to `home`.
    pub fn start(home: &std::path::Path, args: &str) -> Tmux {
        Tmux::start_env(home, "", args)
    }

    /// Like `start`, with `NAME=value` words added to ctys's environment.
    pub fn start_env(home: &std::path::Path, env: &str, args: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = Tmux { socket: format!("ctys-test-{}-{n}", std::process::id()) };
        let cmd =
            format!("env -u CTYS_LUA_PATH -u RUST_LOG -u SSH_AUTH_SOCK CTYS_NO_DNS=1 HOME={} {env} {} {args}", home.display(), env!("CARGO_BIN_EXE_ctys"));
        let ok = t.tmux(&["new-session", "-d", "-s", "repl", "-x", "100", "-y", "50", &cmd]).success();
        assert!(ok, "tmux could not start (is tmux installed? .ci/run installs it)");
        t
    }

    /// Runs a shell command line in a 100x50 terminal; when it ends the screen stays, with
    /// `EXIT=<status>` under its output.
    pub fn start_cmd(cmd: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = Tmux { socket: format!("ctys-test-cmd-{}-{n}", std::process::id()) };
        let ok = t.tmux(&["new-session", "-d", "-s", "repl", "-x", "100", "-y", "50", &format!("{cmd}; echo EXIT=$?; sleep 60")]).success();
        assert!(ok, "tmux could not start (is tmux installed? .ci/run installs it)");
        t
    }

    pub fn tmux(&self, args: &[&str]) -> std::process::ExitStatus {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).status().expect("tmux is needed for the REPL test")
    }

    /// The pid of the pane's first process (the shell of `start_cmd`).
    pub fn pane_pid(&self) -> String {
        let o = Command::new("tmux").args(["-L", &self.socket, "list-panes", "-t", "repl", "-F", "#{pane_pid}"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub fn screen(&self) -> String {
        let o = Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", "repl"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred`; returns the screen.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

    pub fn prompts(&self) -> usize {
        self.screen().lines().filter(|l| is_prompt(l)).count()
    }

    /// Types a line literally, presses Enter, and waits for the next prompt.
    pub fn line(&self, text: &str) -> String {
        let before = self.prompts();
        self.tmux(&["send-keys", "-t", "repl", "-l", text]);
        self.tmux(&["send-keys", "-t", "repl", "Enter"]);
        self.wait(&format!("a prompt after {text:?}"), |s| s.lines().filter(|l| is_prompt(l)).count() > before)
    }

    pub fn keys(&self, keys: &[&str]) {
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
