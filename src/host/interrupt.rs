//! SIGINT, SIGTERM and SIGHUP: a handler only records the signal (async-signal-safe); a Lua
//! count hook raises "interrupted" inside running Lua code, and `wait` lets the runtime drop a
//! script that is parked in an async primitive, so remote commands are killed and BMC sessions
//! closed on the way out, whichever of the three ended the run. A second signal before the
//! first is handled exits at once.
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signal that arrived and is not handled yet (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The exit value of a script cancelled by SIGINT (128 + 2, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The signals that end a run cleanly.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn on_signal(sig: nix::libc::c_int) {
    if PENDING.swap(sig, Ordering::SeqCst) != 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { nix::libc::_exit(128 + sig) }
    }
}

/// Routes SIGINT, SIGTERM and SIGHUP to the flag instead of killing the process, until the
/// guard goes (then the previous dispositions are back: at the REPL's prompt, where nothing
/// runs, SIGTERM ends the process as usual).
pub fn install() -> Guard {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    let mut previous = Vec::new();
    for sig in SIGNALS {
        // SAFETY: the handler only touches an atomic and calls _exit.
        match unsafe { sigaction(sig, &action) } {
            Ok(old) => previous.push((sig, old)),
            Err(e) => log::warn!("cannot install the {sig} handler: {e}; it will kill the process"),
        }
    }
    Guard { previous }
}

/// Puts the dispositions `install` replaced back when dropped.
pub struct Guard {
    previous: Vec<(Signal, SigAction)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for (sig, old) in self.previous.drain(..).rev() {
            // SAFETY: restoring the disposition that was there before.
            let _ = unsafe { sigaction(sig, &old) };
        }
    }
}

/// Whether a signal arrived since the last `clear`.
pub fn is_set() -> bool {
    PENDING.load(Ordering::SeqCst) != 0
}

/// The exit value for the signal that arrived: 128 + its number (130 for Ctrl-C).
pub fn exit_value() -> i32 {
    match PENDING.load(Ordering::SeqCst) {
        0 => EXIT_INTERRUPTED,
        sig => 128 + sig,
    }
}

/// Forgets a handled signal (the REPL goes on after Ctrl-C).
pub fn clear() {
    PENDING.store(0, Ordering::SeqCst);
}

/// Resolves once a signal has arrived; polled, because the flag is all a handler may set.
pub async fn wait() {
    while !is_set() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
