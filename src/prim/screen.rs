//! A full-screen view on the local terminal (`ctys status --watch`): the alternate screen,
//! the cursor hidden, keys read one at a time without echo, and everything put back as it was
//! on drop, whatever ended the view. Ctrl-C still signals (ISIG stays on).
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use crate::prim::failure::{Failure, Kind};
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

/// Enter: the alternate screen, cursor hidden, home, cleared. Leave: cursor shown, main screen.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE: &[u8] = b"\x1b[?25h\x1b[?1049l";

pub struct Screen {
    saved: Termios,
}

/// stdin as a file descriptor tokio can wait on (it is not closed when this goes).
struct Stdin(RawFd);

impl AsRawFd for Stdin {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only reads the descriptor's kind.
    unsafe { nix::libc::isatty(fd) == 1 }
}

impl Screen {
    /// Takes the terminal; an error when stdin or stdout is not one.
    pub fn enter() -> Result<Screen, Failure> {
        if !is_tty(0) || !is_tty(1) {
            return Err(Failure::new(Kind::Invalid, "standard input and output are not a terminal"));
        }
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).map_err(|e| Failure::new(Kind::Io, format!("cannot read the terminal's settings: {e}")))?;
        let mut t = saved.clone();
        t.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO);
        // A read returns at once with what is there: a spurious wake-up never blocks it.
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &t).map_err(|e| Failure::new(Kind::Io, format!("cannot set the terminal: {e}")))?;
        let s = Screen { saved };
        s.write(ENTER);
        Ok(s)
    }

    /// Rows and columns (24x80 when the terminal does not say).
    pub fn size(&self) -> (u16, u16) {
        // SAFETY: TIOCGWINSZ fills a winsize, plain data.
        let mut ws: nix::libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { nix::libc::ioctl(1, nix::libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_row > 0 && ws.ws_col > 0 { (ws.ws_row, ws.ws_col) } else { (24, 80) }
    }

    /// Writes bytes to the terminal at once (a write error leaves the screen as it is).
    pub fn write(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }

    /// The next key pressed within `timeout` (the bytes one read gave: an escape sequence comes
    /// whole), or None. Lets other tasks run while it waits.
    pub async fn key(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, Failure> {
        // SAFETY: fd 0 stays open while this call runs, and the AsyncFd goes with the call.
        let fd = unsafe { tokio::io::unix::AsyncFd::register_with_interest(Stdin(0), tokio::io::Interest::READABLE) }
            .map_err(|e| Failure::new(Kind::Io, format!("cannot wait for the terminal: {e}")))?;
        let wait = async {
            loop {
                let mut guard = fd.readable().await.map_err(|e| Failure::io("the terminal", &e))?;
                let mut buf = [0u8; 64];
                // SAFETY: reading into a local buffer of its length.
                let n = unsafe { nix::libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    return Ok(Some(buf[..n as usize].to_vec()));
                }
                // Readable with nothing to read: a hang-up (else a spurious wake-up).
                let stdin = std::io::stdin();
                let mut p = [nix::poll::PollFd::new(stdin.as_fd(), nix::poll::PollFlags::POLLIN)];
                let hup = nix::poll::poll(&mut p, nix::poll::PollTimeout::ZERO).is_ok()
                    && p[0].revents().is_some_and(|r| r.intersects(nix::poll::PollFlags::POLLHUP | nix::poll::PollFlags::POLLERR));
                if hup {
                    return Err(Failure::new(Kind::Eof, "the terminal went away"));
                }
                guard.clear_ready();
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Ok(None),
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.write(LEAVE);
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}
