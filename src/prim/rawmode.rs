//! The local terminal in raw mode while an interactive console owns it (an SSH console, a
//! Serial-over-LAN console), put back as it was on drop: every return, error and panic
//! leaves the terminal as it found it. Not a terminal: nothing to do.
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Raw mode on `fd` (stdin) when it is a terminal; a warning when it cannot be set.
    pub fn take(fd: BorrowedFd<'_>) -> RawMode {
        let saved = match tcgetattr(fd) {
            Ok(t) => {
                let mut raw = t.clone();
                cfmakeraw(&mut raw);
                match tcsetattr(fd, SetArg::TCSADRAIN, &raw) {
                    Ok(()) => Some(t),
                    Err(e) => {
                        log::warn!("console: cannot put the terminal in raw mode: {e}");
                        None
                    }
                }
            }
            // Not a terminal (a pipe, a file): nothing to change.
            Err(_) => None,
        };
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, t);
        }
    }
}
