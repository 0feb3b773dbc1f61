//! Sessions that last for the life of the process: one SSH connection per (user, host, port,
//! identities, known_hosts, host key mode) is kept after use and handed to the next exec or copy
//! for that host, so a script that talks to a host twice pays one handshake. A pooled session
//! that broke meanwhile is opened again once, transparently. Idle sessions get a keepalive every
//! KEEPALIVE; `close_all` (at exit) says goodbye to each.
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, Once};
use std::time::Duration;

use super::{connect, Conn, RemoteError, Settings};

/// How often idle sessions are kept alive (sshd's ClientAliveInterval is usually far longer).
const KEEPALIVE: Duration = Duration::from_secs(15);

static POOL: Mutex<Option<HashMap<String, Vec<Conn>>>> = Mutex::new(None);

fn key(s: &Settings) -> String {
    format!("{}\0{}\0{}\0{:?}\0{:?}\0{:?}", s.user, s.host, s.port, s.identities, s.known_hosts, s.host_key_mode)
}

fn pool() -> std::sync::MutexGuard<'static, Option<HashMap<String, Vec<Conn>>>> {
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// An idle session for `s`, or a new one; and whether it was pooled (it may have broken since).
pub fn take(s: &Settings, cancel: &AtomicBool) -> Result<(Conn, bool), RemoteError> {
    if let Some(c) = pool().get_or_insert_with(HashMap::new).get_mut(&key(s)).and_then(Vec::pop) {
        return Ok((c, true));
    }
    connect(s, cancel).map(|c| (c, false))
}

/// Hands a session that is fine back for the next use.
pub fn give(s: &Settings, c: Conn) {
    static KEEPER: Once = Once::new();
    KEEPER.call_once(|| {
        let _ = std::thread::Builder::new().name("ssh-keepalive".into()).spawn(|| loop {
            std::thread::sleep(KEEPALIVE);
            // A session that no longer takes a keepalive is dropped; its next user connects anew.
            if let Some(map) = pool().as_mut() {
                for conns in map.values_mut() {
                    conns.retain(Conn::keepalive);
                }
            }
        });
    });
    pool().get_or_insert_with(HashMap::new).entry(key(s)).or_default().push(c);
}

/// How many idle sessions the pool holds.
pub fn idle() -> usize {
    pool().as_ref().map_or(0, |m| m.values().map(Vec::len).sum())
}

/// Closes the idle sessions kept for `s` (SSH disconnect); how many.
pub fn close(s: &Settings) -> usize {
    let taken = pool().as_mut().and_then(|m| m.remove(&key(s)));
    taken.map_or(0, |c| c.len())
}

/// Closes every idle session (SSH disconnect): at exit, and when a script asks; how many.
pub fn close_all() -> usize {
    let n = idle();
    let taken = pool().take();
    drop(taken);
    n
}
