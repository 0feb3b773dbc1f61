//! `ctys.core.remote_exec`: a fan-out run from Lua. The fan-out runs on its own threads; this
//! side relays its line and progress events to Lua callbacks as they come, so a script stays
//! responsive, and cancels the fan-out (remote commands killed) if the script is interrupted.
//! `ctys.core.remote_console`: an interactive session on one host, on a thread of its own for
//! the same reason.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, IntoLuaMulti, Lua, Table, Value};
use super::{def, def_async};

use crate::prim::remote::broadcast::Broadcast;
use crate::prim::remote::config::SshConfig;
use crate::prim::remote::console::{self, ConsoleRequest, Exit};
use crate::prim::remote::fanout::{self, Event};
use crate::prim::remote::{gateway, tree};
use crate::prim::remote::{pool, resolve, Env, ErrorKind, ExecRequest, HostKeyMode, HostResult, Overrides, RemoteError, Settings, Stream, Target};

/// Messages from the fan-out thread.
enum Msg {
    Event(Event),
    Finished(Vec<HostResult>),
}

/// Cancels a fan-out that is still running when its Lua call goes away (error or Ctrl-C) and
/// gives the workers a moment to kill their remote commands.
pub(super) struct CancelGuard {
    pub(super) cancel: Arc<AtomicBool>,
    pub(super) done: std::sync::mpsc::Receiver<()>,
    pub(super) finished: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel.store(true, Ordering::SeqCst);
            let _ = self.done.recv_timeout(Duration::from_secs(15));
        }
    }
}

/// Runs `work` on a thread of its own and waits for its result without holding up the script's
/// other tasks; if the call goes away first (an error, Ctrl-C) the thread is cancelled and given
/// a moment to end its remote work (CancelGuard).
pub(super) async fn on_thread<T: Send + 'static>(name: &str, work: impl FnOnce(&AtomicBool) -> T + Send + 'static) -> mlua::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut guard = CancelGuard { cancel: cancel.clone(), done: done_rx, finished: false };
    std::thread::Builder::new()
        .name(format!("ctys-{name}"))
        .spawn(move || {
            let _ = tx.send(work(&cancel));
            let _ = done_tx.send(());
        })
        .map_err(|e| mlua::Error::runtime(format!("{name}: cannot start its thread: {e}")))?;
    let r = rx.await.map_err(|_| mlua::Error::runtime(format!("{name}: its thread ended without a result")))?;
    guard.finished = true;
    Ok(r)
}

/// An optional number of seconds (prim::duration's rule).
pub(super) fn secs(fname: &str, v: Option<f64>, what: &str) -> mlua::Result<Option<Duration>> {
    v.map(|s| super::seconds(fname, what, Some(s), 0.0)).transpose()
}

/// SSH settings a call may give (ssh_config and defaults fill in the rest).
pub(super) const OVERRIDES: [&str; 7] = ["strict", "user", "port", "identity", "known_hosts", "connect_timeout", "config"];

pub(super) const SPEC: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.RemoteSpec",
    fields: &["targets", "cmd", "stdin", "forward_stdin", "env", "pty", "timeout", "max_output", "fanout", "on_line", "on_progress", "fresh", "routes", "gateway_cmd",
        OVERRIDES[0], OVERRIDES[1], OVERRIDES[2], OVERRIDES[3], OVERRIDES[4], OVERRIDES[5], OVERRIDES[6]],
};
pub(super) const CONSOLE: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.ConsoleSpec",
    fields: &["target", "cmd", "pty", OVERRIDES[0], OVERRIDES[1], OVERRIDES[2], OVERRIDES[3], OVERRIDES[4], OVERRIDES[5], OVERRIDES[6]],
};
pub(super) const ONE_HOST: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.SessionSpec",
    fields: &["target", OVERRIDES[0], OVERRIDES[1], OVERRIDES[2], OVERRIDES[3], OVERRIDES[4], OVERRIDES[5], OVERRIDES[6]],
};
pub(super) const TARGET: super::spec::Schema = super::spec::Schema { class: "ctys.core.RemoteTarget", fields: &["host", "user", "port"] };

pub(super) fn target(fname: &str, t: Table) -> mlua::Result<Target> {
    super::spec::check(fname, &t, &TARGET)?;
    let host = super::text_field(fname, &t, "host")?.ok_or_else(|| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'target.host': missing")))?;
    Ok(Target { user: super::text_field(fname, &t, "user")?, host, port: t.get("port")? })
}

/// The spec's SSH options (user, port, identity, known_hosts, strict, connect_timeout).
pub(super) fn overrides(fname: &str, spec: &Table) -> mlua::Result<Overrides> {
    let mode = match spec.get::<Option<String>>("strict")? {
        Some(m) => Some(HostKeyMode::parse(&m).ok_or_else(|| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.strict': {m:?} (strict, accept-new, off)")))?),
        None => None,
    };
    Ok(Overrides {
        user: super::text_field(fname, spec, "user")?,
        port: spec.get("port")?,
        identity: super::fs::path_field(fname, spec, "identity")?,
        known_hosts: super::fs::path_field(fname, spec, "known_hosts")?,
        host_key_mode: mode,
        connect_timeout: secs(fname, spec.get("connect_timeout")?, "connect_timeout")?,
    })
}

/// The spec's `config` file (default ~/.ssh/config; "none" for none); the inner error is an
/// unreadable file, which the caller returns as `nil, err`.
pub(super) fn ssh_config(fname: &str, spec: &Table, penv: &Env) -> mlua::Result<Result<SshConfig, String>> {
    let path = match super::fs::path_field(fname, spec, "config")? {
        Some(p) => p,
        None => PathBuf::from(&penv.home).join(".ssh/config"),
    };
    Ok(if path.as_os_str() == "none" { Ok(SshConfig::default()) } else { SshConfig::load(&path) })
}

async fn exec(lua: Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_exec", &spec, &SPEC)?;
    let targets: Vec<Target> = spec.get::<Vec<Table>>("targets")?.into_iter().map(|t| target("remote_exec", t)).collect::<mlua::Result<_>>()?;
    let overrides = overrides("remote_exec", &spec)?;
    let env: Vec<(String, String)> = match spec.get::<Option<Table>>("env")? {
        Some(t) => t.pairs::<super::Text, super::Text>().map(|kv| kv.map(|(k, v)| (k.0, v.0))).collect::<mlua::Result<_>>()?,
        None => Vec::new(),
    };
    let req = ExecRequest {
        cmd: super::text_field("remote_exec", &spec, "cmd")?.ok_or_else(|| mlua::Error::runtime("ctys.core.remote_exec: bad argument 'spec.cmd': missing"))?,
        stdin: spec.get::<Option<mlua::LuaString>>("stdin")?.map(|s| s.as_bytes().to_vec()).unwrap_or_default(),
        env,
        pty: spec.get::<Option<bool>>("pty")?.unwrap_or(false),
        timeout: secs("remote_exec", spec.get("timeout")?, "timeout")?,
        max_output: spec.get("max_output")?,
        fresh: spec.get::<Option<bool>>("fresh")?.unwrap_or(false),
        ..Default::default()
    };
    let fanout: usize = spec.get::<Option<usize>>("fanout")?.unwrap_or(64);
    let on_line: Option<Function> = spec.get("on_line")?;
    let on_progress: Option<Function> = spec.get("on_progress")?;

    let penv = Env::from_process();
    let cfg = match ssh_config("remote_exec", &spec, &penv)? {
        Ok(c) => c,
        Err(e) => return (Value::Nil, e).into_lua_multi(&lua),
    };
    // Results name a host as it was given, user and port included, so two hosts on one
    // address stay apart.
    let labels: Vec<String> = targets.iter().map(Target::label).collect();
    let routed = routes(&lua, "remote_exec", &spec, &targets)?;
    let gateway_cmd: Option<String> = super::text_field("remote_exec", &spec, "gateway_cmd")?;
    if routed.is_some() && gateway_cmd.is_none() {
        return Err(mlua::Error::runtime("ctys.core.remote_exec: bad argument 'spec.gateway_cmd': needed with routes"));
    }
    let hosts: Vec<_> = if routed.is_some() { Vec::new() } else { targets.iter().map(|t| resolve(t, &overrides, &cfg, &penv)).collect() };
    let n = targets.len();
    let mut req = req;
    if spec.get::<Option<bool>>("forward_stdin")?.unwrap_or(false) {
        // One reader per host the fan-out here runs (behind a gateway, stdin is empty).
        let readers = routed.as_ref().map_or(n, |r| r.iter().filter(|h| h.via.is_empty()).count());
        match Broadcast::new(readers) {
            Ok(b) => req.stdin_feed = Some(Arc::new(b)),
            Err(e) => return (Value::Nil, format!("cannot forward standard input: {e}")).into_lua_multi(&lua),
        }
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut guard = CancelGuard { cancel: cancel.clone(), done: done_rx, finished: false };
    let output = if on_line.is_some() { fanout::Output::Lines } else { fanout::Output::Quiet };
    std::thread::Builder::new()
        .name("ctys-fanout".into())
        .spawn(move || {
            let emit = |ev| {
                let _ = tx.send(Msg::Event(ev));
            };
            let results = match &routed {
                Some(routed) => {
                    let resolve_one = |t: &Target| resolve(t, &overrides, &cfg, &penv);
                    let tree = tree::Tree { resolve: &resolve_one, gateway_cmd: gateway_cmd.as_deref().unwrap_or_default(), overrides: &overrides };
                    tree::run(routed, tree::Work::Exec(&req), fanout, output, &tree, &cancel, &emit)
                }
                None => fanout::run(&hosts, &req, fanout, output, &cancel, &emit),
            };
            let _ = tx.send(Msg::Finished(results));
            let _ = done_tx.send(());
        })
        .map_err(|e| mlua::Error::runtime(format!("remote_exec: cannot start the fan-out thread: {e}")))?;

    let started = Instant::now();
    let (mut done, mut failed) = (0usize, 0usize);
    let results = loop {
        let msg = tokio::time::timeout(Duration::from_millis(250), rx.recv()).await;
        match msg {
            Ok(Some(Msg::Event(Event::Line { host, stream, line }))) => {
                if let Some(f) = &on_line {
                    let s = if stream == Stream::Stdout { "stdout" } else { "stderr" };
                    f.call_async::<()>((labels[host].as_str(), s, lua.create_string(&line)?)).await?;
                }
                continue;
            }
            Ok(Some(Msg::Event(Event::Done { end, .. }))) => {
                done += 1;
                failed += usize::from(!end.ok());
            }
            Ok(Some(Msg::Event(Event::Start { .. } | Event::Chunk { .. }))) => continue,
            Ok(Some(Msg::Finished(r))) => break r,
            Ok(None) => return Err(mlua::Error::runtime("remote_exec: the fan-out thread ended without results")),
            Err(_) => {}
        }
        if let Some(f) = &on_progress {
            f.call_async::<()>((done, failed, n - done, started.elapsed().as_secs_f64())).await?;
        }
    };
    guard.finished = true;

    let list = lua.create_table()?;
    for (i, r) in results.into_iter().enumerate() {
        let t = lua.create_table()?;
        t.set("host", labels[i].as_str())?;
        t.set("status", r.outcome.status)?;
        t.set("signal", r.outcome.signal)?;
        t.set("stdout", lua.create_string(&r.outcome.stdout)?)?;
        t.set("stderr", lua.create_string(&r.outcome.stderr)?)?;
        if let Some(e) = r.error {
            t.set("err", e.message)?;
            t.set("kind", e.kind.name())?;
        }
        list.raw_set(i + 1, t)?;
    }
    list.into_lua_multi(&lua)
}

/// The spec's `routes` (target index → levels of candidate gateways), as routed targets; None
/// when no target has a gateway.
pub(super) fn routes(lua: &Lua, fname: &str, spec: &Table, targets: &[Target]) -> mlua::Result<Option<Vec<gateway::Routed>>> {
    let Some(t) = spec.get::<Option<Table>>("routes")? else { return Ok(None) };
    let bad = |why: String| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.routes': {why}"));
    let mut out: Vec<gateway::Routed> = targets.iter().map(|t| gateway::Routed { target: t.clone(), via: Vec::new() }).collect();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let i = match k {
            Value::Integer(i) if i >= 1 && (i as usize) <= targets.len() => i as usize - 1,
            k => return Err(bad(format!("key {k:?}: a target's index 1-{}", targets.len()))),
        };
        let levels: Vec<Vec<super::Text>> = mlua::FromLua::from_lua(v, lua)
            .map_err(|e| bad(format!("[{}]: lists of gateway names ({e})", i + 1)))?;
        if levels.len() > gateway::MAX_DEPTH || levels.iter().any(|l| l.is_empty()) {
            return Err(bad(format!("[{}]: 1-{} levels, each naming a gateway", i + 1, gateway::MAX_DEPTH)));
        }
        out[i].via = levels.into_iter().map(|l| l.into_iter().map(|g| g.0).collect()).collect();
    }
    Ok(out.iter().any(|r| !r.via.is_empty()).then_some(out))
}

/// The settings for the spec's one `target` (its SSH options, ssh_config, defaults); the inner
/// error is an unreadable config file or a host that does not resolve.
fn one_host(fname: &str, spec: &Table) -> mlua::Result<Result<Settings, RemoteError>> {
    let t = target(fname, spec.get("target")?)?;
    let overrides = overrides(fname, spec)?;
    let penv = Env::from_process();
    Ok(match ssh_config(fname, spec, &penv)? {
        Ok(cfg) => resolve(&t, &overrides, &cfg, &penv),
        Err(e) => Err(RemoteError::new(ErrorKind::Resolve, e)),
    })
}

/// `true` once a session to the host is open and kept for the calls that follow, or `nil, err,
/// kind`.
async fn remote_connect(lua: Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_connect", &spec, &ONE_HOST)?;
    let settings = match one_host("remote_connect", &spec)? {
        Ok(s) => s,
        Err(e) => return (Value::Nil, e.message, e.kind.name()).into_lua_multi(&lua),
    };
    let res = on_thread("connect", move |cancel| pool::take(&settings, cancel).map(|(c, _)| pool::give(&settings, c))).await?;
    match res {
        Ok(()) => true.into_lua_multi(&lua),
        Err(e) => (Value::Nil, e.message, e.kind.name()).into_lua_multi(&lua),
    }
}

/// Closes the sessions kept for one host; how many (0 also when the host does not resolve).
fn remote_disconnect(_: &Lua, spec: Table) -> mlua::Result<usize> {
    super::spec::check("remote_disconnect", &spec, &ONE_HOST)?;
    Ok(one_host("remote_disconnect", &spec)?.map_or(0, |s| pool::close(&s)))
}

/// Where SSH goes for one host, after ssh_config (HostName, Port, User) and the spec's own
/// options: `{host, port, user}`, or `nil, err, kind`. Nothing is sent.
fn remote_where(lua: &Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_where", &spec, &ONE_HOST)?;
    match one_host("remote_where", &spec)? {
        Ok(s) => {
            let t = lua.create_table()?;
            t.set("host", s.host)?;
            t.set("port", s.port)?;
            t.set("user", s.user)?;
            t.into_lua_multi(lua)
        }
        Err(e) => (Value::Nil, e.message, e.kind.name()).into_lua_multi(lua),
    }
}

/// One interactive session: `status` (128 + N when signal N ended it, and the signal's name),
/// or `nil, err, kind`. The session runs on its own thread so Ctrl-C (when the terminal is not
/// in raw mode) can cancel it; the guard waits for that thread to give the terminal back.
async fn remote_console(lua: Lua, spec: Table) -> mlua::Result<mlua::MultiValue> {
    super::spec::check("remote_console", &spec, &CONSOLE)?;
    let req = ConsoleRequest { cmd: spec.get("cmd")?, pty: spec.get("pty")? };
    let settings = match one_host("remote_console", &spec)? {
        Ok(s) => s,
        Err(e) => return (Value::Nil, e.message, e.kind.name()).into_lua_multi(&lua),
    };
    let res = on_thread("console", move |cancel| console::console(&settings, &req, cancel)).await?;
    match res {
        Ok(Exit::Status(n)) => n.into_lua_multi(&lua),
        Ok(Exit::Signal(name)) => {
            // As a shell reports it; 255 (as ssh) for a signal this system does not know.
            let status = format!("SIG{name}").parse::<nix::sys::signal::Signal>().map_or(255, |s| 128 + s as i32);
            (status, name).into_lua_multi(&lua)
        }
        Err(e) => (Value::Nil, e.message, e.kind.name()).into_lua_multi(&lua),
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "remote_exec", exec)?;
    def(lua, core, "remote_close_all", |_, ()| Ok(pool::close_all()))?;
    def_async(lua, core, "remote_connect", remote_connect)?;
    def(lua, core, "remote_disconnect", remote_disconnect)?;
    def(lua, core, "remote_where", remote_where)?;
    def_async(lua, core, "remote_console", remote_console)?;
    Ok(())
}
