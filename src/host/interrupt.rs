//! SIGINT, SIGTERM and SIGHUP: a handler only records the signal (async-signal-safe); a Lua
//! count hook raises "interrupted" inside running Lua code, and `wait` lets the runtime drop a
//! script that is parked in an async primitive, so remote commands are killed and BMC sessions
//! closed on the way out, whichever of the three ended the run. A second signal before the
//! first is handled exits at once (unless it is the same one, delivered again within 250 ms),
//! and so does a run that has not ended GRACE_SECS after the first
//! (stuck in C code, where no hook runs). A signal the process was started with ignored
//! (`nohup`, a background job's SIGINT) stays ignored.
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signal that arrived and is not handled yet (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The exit value of a script cancelled by SIGINT (128 + 2, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The signals that end a run cleanly.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// When the pending signal arrived (CLOCK_MONOTONIC, milliseconds).
static SINCE_MS: AtomicU64 = AtomicU64::new(0);

/// A repeat of the same signal this soon is the same event delivered twice (timeout(1) and a
/// shell send it to the process and to its group), not someone insisting.
const REPEAT_MS: u64 = 250;

fn now_ms() -> u64 {
    // SAFETY: clock_gettime is async-signal-safe; ts is plain data.
    let mut ts: nix::libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1000).saturating_add(ts.tv_nsec as u64 / 1_000_000)
}

extern "C" fn on_signal(sig: nix::libc::c_int) {
    let now = now_ms();
    let before = PENDING.swap(sig, Ordering::SeqCst);
    if before == 0 {
        SINCE_MS.store(now, Ordering::SeqCst);
        // SAFETY: alarm is async-signal-safe.
        unsafe { nix::libc::alarm(GRACE_SECS) };
    } else if before != sig || now.saturating_sub(SINCE_MS.load(Ordering::SeqCst)) >= REPEAT_MS {
        // SAFETY: _exit is async-signal-safe.
        unsafe { nix::libc::_exit(128 + sig) }
    }
}

/// How long a run may take to end after a signal before the process exits anyway (the
/// cleanup of stalled remote sessions takes up to about 12 s).
const GRACE_SECS: u32 = 20;

/// SIGALRM, armed by the first signal: the run did not end within GRACE_SECS (stuck in C code,
/// where no hook runs), so the process ends with the first signal's exit value. An alarm
/// rather than a watchdog thread: nothing is started unless a signal comes.
extern "C" fn on_alarm(_: nix::libc::c_int) {
    let sig = match PENDING.load(Ordering::SeqCst) {
        0 => nix::libc::SIGALRM,
        s => s,
    };
    // SAFETY: _exit is async-signal-safe.
    unsafe { nix::libc::_exit(128 + sig) }
}

/// Routes SIGINT, SIGTERM and SIGHUP to the flag instead of killing the process, until the
/// guard goes (then the previous dispositions are back: at the REPL's prompt, where nothing
/// runs, SIGTERM ends the process as usual). One the process ignores stays ignored.
pub fn install() -> Guard {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    let mut previous = Vec::new();
    for sig in SIGNALS {
        // SAFETY: the handler only touches an atomic and calls _exit.
        match unsafe { sigaction(sig, &action) } {
            Ok(old) if matches!(old.handler(), SigHandler::SigIgn) => {
                // SAFETY: putting back the disposition that was there.
                let _ = unsafe { sigaction(sig, &old) };
            }
            Ok(old) => previous.push((sig, old)),
            Err(e) => log::warn!("cannot install the {sig} handler: {e}; it will kill the process"),
        }
    }
    let alarm = SigAction::new(SigHandler::Handler(on_alarm), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only reads an atomic and calls _exit.
    match unsafe { sigaction(Signal::SIGALRM, &alarm) } {
        Ok(old) => previous.push((Signal::SIGALRM, old)),
        Err(e) => log::warn!("cannot install the SIGALRM handler: {e}; a run stuck after a signal is not ended"),
    }
    Guard { previous }
}

/// Puts the dispositions `install` replaced back when dropped.
pub struct Guard {
    previous: Vec<(Signal, SigAction)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: cancelling this process's alarm.
        unsafe { nix::libc::alarm(0) };
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
    // SAFETY: cancelling this process's alarm.
    unsafe { nix::libc::alarm(0) };
    PENDING.store(0, Ordering::SeqCst);
}

/// Resolves once a signal has arrived; polled, because the flag is all a handler may set.
pub async fn wait() {
    while !is_set() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
