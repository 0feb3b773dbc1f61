//! An interactive session on one host, as `ssh host` or `ssh -t host cmd` gives it: a pty sized
//! like the local terminal, the local terminal in raw mode (restored on every way out), stdin
//! pumped to the channel and the channel to stdout/stderr until the remote side closes, window
//! size changes forwarded. Connecting, host keys and authentication are the exec path's.
use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use ssh2::{BlockDirections, Channel, Session};

use super::session::{err, retry, would_block, EAGAIN};
use super::{connect, ErrorKind, RemoteError, Settings};

/// What to start on the remote side.
#[derive(Debug, Clone, Default)]
pub struct ConsoleRequest {
    /// A command line for the remote shell; `None` starts the login shell.
    pub cmd: Option<String>,
    /// Request a pty; `None`: when stdin is a terminal (as ssh decides).
    pub pty: Option<bool>,
}

/// How the remote side ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Status(i32),
    /// Signal name without `SIG` (`TERM`, `HUP`, ...).
    Signal(String),
}

/// Set by the SIGWINCH handler; the pump loop forwards the new size.
static WINCH: AtomicBool = AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    WINCH.store(true, Ordering::SeqCst);
}

/// The local terminal while a console owns it: raw mode and the SIGWINCH handler, both undone
/// on drop, so every return, error and panic leaves the terminal as it was.
struct LocalTerminal {
    _raw: crate::prim::rawmode::RawMode,
    old_winch: Option<SigAction>,
}

impl LocalTerminal {
    fn take(stdin: BorrowedFd<'_>) -> LocalTerminal {
        let raw = crate::prim::rawmode::RawMode::take(stdin);
        let action = SigAction::new(SigHandler::Handler(on_winch), SaFlags::SA_RESTART, SigSet::empty());
        // SAFETY: the handler only stores to an atomic.
        let old_winch = unsafe { sigaction(Signal::SIGWINCH, &action) }.ok();
        LocalTerminal { _raw: raw, old_winch }
    }
}

impl Drop for LocalTerminal {
    fn drop(&mut self) {
        if let Some(old) = &self.old_winch {
            // SAFETY: puts back the handler that was there before.
            let _ = unsafe { sigaction(Signal::SIGWINCH, old) };
        }
    }
}

/// The terminal's size on stdin: (columns, rows, width px, height px).
fn window_size() -> Option<(u32, u32, u32, u32)> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`, which outlives the call.
    let rc = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0 && ws.ws_row > 0)
        .then(|| (ws.ws_col.into(), ws.ws_row.into(), ws.ws_xpixel.into(), ws.ws_ypixel.into()))
}

fn socket_flags(sess: &Session) -> PollFlags {
    // Incoming data is always welcome; writability only matters when libssh2 waits for it.
    match sess.block_directions() {
        BlockDirections::Outbound | BlockDirections::Both => PollFlags::POLLIN | PollFlags::POLLOUT,
        _ => PollFlags::POLLIN,
    }
}

/// Opens an interactive session on one host and runs it to its end; returns how the remote
/// side ended. Blocks the calling thread; `cancel` ends the session (the remote side gets
/// the channel closed, and a pty session SIGHUP).
pub fn console(s: &Settings, req: &ConsoleRequest, cancel: &AtomicBool) -> Result<Exit, RemoteError> {
    let label = s.label.as_str();
    let conn = connect(s, cancel)?;
    let (sess, tcp) = conn.parts();
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let pty = req.pty.unwrap_or(tty);
    sess.set_blocking(true);
    sess.set_timeout(10_000);
    let started = (|| -> Result<Channel, ssh2::Error> {
        let mut ch = sess.channel_session()?;
        if pty {
            let term = std::env::var("TERM").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "xterm".into());
            let size = if tty { window_size() } else { None };
            ch.request_pty(&term, None, Some(size.unwrap_or((80, 24, 0, 0))))?;
        }
        match &req.cmd {
            Some(cmd) => ch.exec(cmd)?,
            None => ch.shell()?,
        }
        Ok(ch)
    })();
    let what = if req.cmd.is_some() { "command" } else { "shell" };
    let mut ch = started.map_err(|e| err(ErrorKind::Ssh, label, format_args!("cannot start the {what}: {e}")))?;
    sess.set_timeout(0);
    sess.set_blocking(false);

    // Raw mode only when the remote side has a pty to interpret the keys.
    let _term = (tty && pty).then(|| LocalTerminal::take(stdin.as_fd()));
    WINCH.store(false, Ordering::SeqCst);
    let ended = pump(sess, tcp.as_fd(), &mut ch, stdin.as_fd(), label, cancel);

    if let Err(e) = ended {
        // One try only: a command without a pty may run on (as with ssh), and the remote side
        // would close its end only when it ends.
        let _ = ch.close();
        return Err(e);
    }
    let close_by = Instant::now() + Duration::from_secs(2);
    let _ = retry(&conn, close_by, || ch.close());
    let _ = retry(&conn, close_by, || ch.wait_close());
    if let Some(sig) = ch.exit_signal().ok().and_then(|s| s.exit_signal) {
        return Ok(Exit::Signal(sig));
    }
    ch.exit_status()
        .map(Exit::Status)
        .map_err(|e| err(ErrorKind::Ssh, label, format_args!("no exit status: {e}")))
}

/// Moves bytes both ways until the remote side has closed its output.
fn pump(
    sess: &Session,
    sock: BorrowedFd<'_>,
    ch: &mut Channel,
    stdin: BorrowedFd<'_>,
    label: &str,
    cancel: &AtomicBool,
) -> Result<(), RemoteError> {
    let mut buf = vec![0u8; 32 * 1024];
    // Stdin bytes the channel has not taken yet; stdin is not read again until they are gone.
    let mut pending: Vec<u8> = Vec::new();
    let mut stdin_open = true;
    let mut eof_sent = false;
    let mut resize = false;
    let (mut out_eof, mut err_eof) = (false, false);
    let mut next_keepalive = Instant::now();
    loop {
        let mut progress = false;
        // Before any stdin: keys typed after a resize must reach a resized pty.
        resize |= WINCH.swap(false, Ordering::SeqCst);
        if resize {
            if let Some((c, r, w, h)) = window_size() {
                match ch.request_pty_size(c, r, Some(w), Some(h)) {
                    Err(e) if e.code() == EAGAIN => {}
                    _ => resize = false,
                }
            } else {
                resize = false;
            }
        }
        if !resize && !pending.is_empty() {
            match ch.write(&pending) {
                Ok(n) => {
                    pending.drain(..n);
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                // The remote side stopped reading; its output still comes.
                Err(_) => {
                    pending.clear();
                    stdin_open = false;
                }
            }
        }
        if !stdin_open && pending.is_empty() && !eof_sent {
            match ch.send_eof() {
                Err(e) if e.code() == EAGAIN => {}
                _ => eof_sent = true,
            }
        }
        for (is_err, done) in [(false, &mut out_eof), (true, &mut err_eof)] {
            while !*done {
                let r = if is_err { ch.stderr().read(&mut buf) } else { ch.read(&mut buf) };
                match r {
                    Ok(0) => {
                        *done = ch.eof();
                        break;
                    }
                    Ok(n) => {
                        progress = true;
                        let written = if is_err {
                            let mut e = std::io::stderr().lock();
                            e.write_all(&buf[..n]).and_then(|()| e.flush())
                        } else {
                            let mut o = std::io::stdout().lock();
                            o.write_all(&buf[..n]).and_then(|()| o.flush())
                        };
                        written.map_err(|e| err(ErrorKind::Ssh, label, format_args!("writing the output here: {e}")))?;
                    }
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(err(ErrorKind::Ssh, label, format_args!("reading output: {e}"))),
                }
            }
        }
        if out_eof && err_eof {
            return Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(err(ErrorKind::Cancelled, label, "cancelled"));
        }
        if Instant::now() >= next_keepalive {
            // Sends only when ssh_config's ServerAliveInterval set an interval.
            let secs = sess.keepalive_send().unwrap_or(0);
            next_keepalive = Instant::now() + Duration::from_secs(secs.max(1).into());
        }
        let want_stdin = stdin_open && pending.is_empty();
        let mut fds = vec![PollFd::new(sock, socket_flags(sess))];
        if want_stdin {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        let wait: u16 = if progress { 0 } else { 100 };
        match poll(&mut fds, wait) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(err(ErrorKind::Ssh, label, format_args!("poll: {e}"))),
        }
        let stdin_ready = want_stdin && fds[1].revents().is_some_and(|r| !r.is_empty());
        if stdin_ready {
            match nix::unistd::read(stdin, &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                // A closed or unreadable stdin is an end of input.
                Err(_) => stdin_open = false,
            }
        }
    }
}
