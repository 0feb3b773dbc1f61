//! Running a program: argv (no shell), optional stdin, environment additions, a timeout and
//! a bound on the output kept. The program runs in a process group of its own, so a timeout
//! or a cancellation ends everything it started: SIGTERM, then SIGKILL after a grace period.
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::failure::{Failure, Kind};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub argv: Vec<OsString>,
    pub stdin: Option<Vec<u8>>,
    /// Added to (or replacing in) the caller's environment.
    pub env: Vec<(OsString, OsString)>,
    pub timeout: Option<Duration>,
    /// The most bytes kept of stdout and of stderr; more is an error (kind toolarge).
    pub max_output: usize,
    /// The program shares the caller's terminal: stdin (unless `stdin` is given), stdout and
    /// stderr go where the caller's go, nothing is captured, and it stays in the caller's
    /// process group (a password prompt must be able to read the terminal).
    pub inherit: bool,
}

/// How a program ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The exit status, when it exited.
    pub status: Option<i32>,
    /// The signal number, when a signal ended it.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How long a program gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// What a pipe gave so far: the bytes kept, whether more came, whether it ended.
#[derive(Default)]
struct Drained {
    kept: Vec<u8>,
    over: bool,
    done: bool,
}

/// Reads a pipe to its end on a thread of its own, keeping at most `max` bytes.
fn drain(mut r: impl Read + Send + 'static, max: usize) -> Arc<Mutex<Drained>> {
    let state = Arc::new(Mutex::new(Drained::default()));
    let s = state.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            let mut d = s.lock().unwrap_or_else(|p| p.into_inner());
            if n == 0 {
                d.done = true;
                return;
            }
            let room = max.saturating_sub(d.kept.len());
            d.kept.extend_from_slice(&buf[..n.min(room)]);
            d.over |= n > room;
        }
    });
    state
}

/// What a drain holds once it ended, or after `wait` (a process that left the group holds the
/// pipe open: its output so far is taken, the thread left to end with the pipe).
fn collect(d: Option<Arc<Mutex<Drained>>>, wait: Duration) -> (Vec<u8>, bool) {
    let Some(d) = d else { return Default::default() };
    let by = Instant::now() + wait;
    loop {
        let mut g = d.lock().unwrap_or_else(|p| p.into_inner());
        if g.done || Instant::now() >= by {
            return (std::mem::take(&mut g.kept), g.over);
        }
        drop(g);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Ends a program: SIGTERM, then SIGKILL if it is still there after GRACE; its whole process
/// group when it has one of its own.
fn end_group(child: &mut std::process::Child, group: bool) {
    let pgid = nix::unistd::Pid::from_raw(if group { -(child.id() as i32) } else { child.id() as i32 });
    let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGTERM);
    let by = Instant::now() + GRACE;
    while Instant::now() < by {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
}

/// Runs the program to its end, its timeout, or `cancel` (checked every 10 ms).
pub fn run(req: &Request, cancel: &AtomicBool) -> Result<Outcome, Failure> {
    let Some((prog, args)) = req.argv.split_first() else {
        return Err(Failure::new(Kind::Io, "no program to run (empty argv)"));
    };
    let shown = prog.to_string_lossy().into_owned();
    let mut cmd = Command::new(prog);
    cmd.args(args).envs(req.env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(match (&req.stdin, req.inherit) {
        (Some(_), _) => Stdio::piped(),
        (None, true) => Stdio::inherit(),
        (None, false) => Stdio::null(),
    });
    if req.inherit {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| Failure::io(&shown, &e))?;
    let deadline = req.timeout.map(|t| Instant::now() + t);
    let writer = req.stdin.clone().zip(child.stdin.take()).map(|(data, mut pipe)| {
        // A program that exits without reading its stdin is its own business.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let max = req.max_output;
    let out = child.stdout.take().map(|p| drain(p, max));
    let err = child.stderr.take().map(|p| drain(p, max));
    let stopped = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(Failure::io(&shown, &e)),
        }
        if cancel.load(Ordering::Relaxed) {
            end_group(&mut child, !req.inherit);
            break Err(Failure::new(Kind::Io, format!("{shown}: cancelled")));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            end_group(&mut child, !req.inherit);
            let secs = req.timeout.unwrap_or_default().as_secs_f64();
            break Err(Failure::new(Kind::Timeout, format!("{shown}: no end within {secs} s; its process group was ended")));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // What the program left running may hold the pipes open: its output so far is taken after
    // a second, and it goes on (a window it opened, say).
    let (stdout, over_out) = collect(out, Duration::from_secs(1));
    let (stderr, over_err) = collect(err, Duration::from_secs(1));
    // The writer ends when the program exited (a broken pipe) or read everything.
    drop(writer);
    let status = stopped?;
    if over_out || over_err {
        return Err(Failure::new(Kind::TooLarge, format!("{shown}: more than {max} bytes of output")));
    }
    Ok(Outcome { status: status.code(), signal: status.signal(), stdout, stderr })
}

/// Starts a program detached from ctys: a session of its own, no terminal, stdin, stdout and
/// stderr on /dev/null; it goes on after ctys ends (a console window). Returns its pid.
pub fn spawn(argv: &[OsString], env: &[(OsString, OsString)]) -> Result<u32, Failure> {
    let Some((prog, args)) = argv.split_first() else {
        return Err(Failure::new(Kind::Io, "no program to start (empty argv)"));
    };
    let mut cmd = Command::new(prog);
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe, as the time between fork and exec requires.
    unsafe {
        cmd.pre_exec(|| {
            nix::libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| Failure::io(prog.to_string_lossy(), &e))?;
    let pid = child.id();
    // Reaped while ctys runs, so it never lingers as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(pid)
}

/// Where exec would find a program: a word with a `/` as it is, else the first directory of
/// `path` (PATH's form; an empty entry is the current directory) that holds it. Only an
/// executable regular file (links followed) counts.
pub fn which(prog: &std::ffi::OsStr, path: Option<&std::ffi::OsStr>) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let runnable = |p: &std::path::Path| {
        p.metadata().is_ok_and(|m| m.is_file()) && nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok()
    };
    let bytes = prog.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    if bytes.contains(&b'/') {
        let p = std::path::PathBuf::from(prog);
        return runnable(&p).then_some(p);
    }
    let path = path?;
    path.as_bytes().split(|&b| b == b':').find_map(|dir| {
        let dir = if dir.is_empty() { std::path::Path::new(".") } else { std::path::Path::new(std::ffi::OsStr::from_bytes(dir)) };
        let p = dir.join(prog);
        runnable(&p).then_some(p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_finds_what_exec_would() {
        fn p(s: &str) -> Option<&std::ffi::OsStr> {
            Some(std::ffi::OsStr::new(s))
        }
        let sh = std::ffi::OsStr::new("sh");
        assert!(which(sh, p("/nonexistent:/bin:/usr/bin")).is_some_and(|f| f.ends_with("sh")));
        assert_eq!(which(sh, p("/nonexistent")), None);
        assert_eq!(which(sh, None), None);
        assert_eq!(which(std::ffi::OsStr::new("/bin/sh"), None), Some("/bin/sh".into()));
        // Not executable, a directory, nothing: not a program.
        assert_eq!(which(std::ffi::OsStr::new("/etc/passwd"), None), None);
        assert_eq!(which(std::ffi::OsStr::new("/bin"), None), None);
        assert_eq!(which(std::ffi::OsStr::new(""), p("/bin")), None);
        assert_eq!(which(std::ffi::OsStr::new("passwd"), p("/etc")), None);
    }

    fn req(argv: &[&str]) -> Request {
        Request { argv: argv.iter().map(OsString::from).collect(), max_output: 1 << 20, ..Default::default() }
    }

    #[test]
    fn output_status_stdin_env() {
        let never = AtomicBool::new(false);
        let mut r = req(&["/bin/sh", "-c", "cat; echo \"$X\" >&2; exit 3"]);
        r.stdin = Some(b"in\xff".to_vec());
        r.env = vec![("X".into(), "ex".into())];
        let o = run(&r, &never).unwrap();
        assert_eq!((o.status, o.signal, o.stdout.as_slice(), o.stderr.as_slice()), (Some(3), None, &b"in\xff"[..], &b"ex\n"[..]));
        let o = run(&req(&["/bin/sh", "-c", "kill -9 $$"]), &never).unwrap();
        assert_eq!((o.status, o.signal), (None, Some(9)));
        assert_eq!(run(&req(&["/nonexistent/prog"]), &never).unwrap_err().kind, Kind::NotFound);
        assert_eq!(run(&req(&[]), &never).unwrap_err().kind, Kind::Io);
    }

    #[test]
    fn timeout_ends_the_group_even_when_it_ignores_sigterm() {
        let never = AtomicBool::new(false);
        let mut r = req(&["/bin/sh", "-c", "trap '' TERM; sleep 30 & sleep 30; wait"]);
        r.timeout = Some(Duration::from_millis(200));
        let t0 = Instant::now();
        let e = run(&r, &never).unwrap_err();
        assert_eq!(e.kind, Kind::Timeout);
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }

    #[test]
    fn a_process_that_left_the_group_does_not_hold_the_run() {
        let never = AtomicBool::new(false);
        let t0 = Instant::now();
        let o = run(&req(&["/bin/sh", "-c", "setsid sleep 3 & echo hi"]), &never).unwrap();
        assert_eq!(o.stdout, b"hi\n");
        assert!(t0.elapsed() < Duration::from_millis(2500), "{:?}", t0.elapsed());
    }

    #[test]
    fn output_is_bounded() {
        let never = AtomicBool::new(false);
        let mut r = req(&["/bin/sh", "-c", "head -c 100000 /dev/zero"]);
        r.max_output = 1000;
        assert_eq!(run(&r, &never).unwrap_err().kind, Kind::TooLarge);
    }
}
