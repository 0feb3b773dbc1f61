//! Ctrl-C: a SIGINT handler only sets a flag (async-signal-safe); a Lua count hook raises
//! "interrupted" inside running Lua code, and `wait` lets the runtime drop a script that is
//! parked in an async primitive. A second Ctrl-C before the first is handled exits at once.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The exit value of a script cancelled by SIGINT (128 + 2, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

extern "C" fn on_sigint(_: nix::libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { nix::libc::_exit(EXIT_INTERRUPTED) }
    }
}

/// Routes SIGINT to the flag instead of killing the process.
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(on_sigint), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only touches an atomic and calls _exit.
    if let Err(e) = unsafe { sigaction(Signal::SIGINT, &action) } {
        log::warn!("cannot install the SIGINT handler: {e}; Ctrl-C will kill the process");
    }
}

/// Whether SIGINT arrived since the last `clear`.
pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Forgets a handled SIGINT (the REPL goes on after it).
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Resolves once SIGINT has arrived; polled, because the flag is all a handler may set.
pub async fn wait() {
    while !is_set() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
