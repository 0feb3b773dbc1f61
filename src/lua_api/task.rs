//! `ctys.core.sleep` and `ctys.core.spawn`: concurrency for scripts on the host's one thread.
use std::cell::RefCell;

use mlua::{Function, Lua, MultiValue, Table, UserData, UserDataMethods};
use super::{def, def_async};
use tokio::task::JoinHandle;

/// A function running as a task in the host's LocalSet.
struct Task {
    handle: RefCell<Option<JoinHandle<mlua::Result<MultiValue>>>>,
}

impl UserData for Task {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("join", |_, this, ()| async move {
            let handle = this.handle.borrow_mut().take();
            let handle = handle.ok_or_else(|| mlua::Error::runtime("task:join: the task was already joined"))?;
            match handle.await {
                Ok(res) => res,
                Err(e) if e.is_cancelled() => Err(mlua::Error::runtime("task:join: the task was aborted")),
                Err(e) => Err(mlua::Error::runtime(format!("task:join: the task failed: {e}"))),
            }
        });
        methods.add_method("done", |_, this, ()| {
            Ok(this.handle.borrow().as_ref().is_none_or(JoinHandle::is_finished))
        });
        methods.add_method("abort", |_, this, ()| {
            if let Some(h) = this.handle.borrow().as_ref() {
                h.abort();
            }
            Ok(())
        });
    }
}

thread_local! {
    /// True while `Host::block_on` drives the LocalSet: `ctys.spawn` is only valid then.
    static IN_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Set by the host around its LocalSet (so `spawn_local` cannot panic).
pub fn set_in_runtime(on: bool) {
    IN_RUNTIME.with(|c| c.set(on));
}

fn need_runtime(what: &str) -> mlua::Result<()> {
    if IN_RUNTIME.with(std::cell::Cell::get) {
        Ok(())
    } else {
        Err(mlua::Error::runtime(format!("{what}: not inside the host's runtime (use Host::call)")))
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    // What an async call yields while it waits (stdlib/ctys/coroutine.lua passes it on).
    core.set("async_pending", Lua::poll_pending())?;
    core.set("max_seconds", crate::prim::duration::MAX_SECONDS)?;
    // A monotonic clock counted from the first call: for timing, immune to clock changes.
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(std::time::Instant::now);
    def(lua, core, "now", |_, ()| Ok(EPOCH.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()))?;
    def(lua, core, "time", |_, ()| {
        Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0))
    })?;
    def(lua, core, "parse_seconds", |_, s: mlua::LuaString| {
        Ok(std::str::from_utf8(&s.as_bytes()).ok().and_then(|t| crate::prim::duration::parse(t).ok()).map(|d| d.as_secs_f64()))
    })?;
    def_async(lua, core, "sleep", |_, secs: f64| async move {
        need_runtime("ctys.core.sleep")?;
        let d = super::seconds("sleep", "seconds", Some(secs), 0.0)?;
        tokio::time::sleep(d).await;
        Ok(())
    })?;
    def(lua, core, "spawn", |_, (f, args): (Function, MultiValue)| {
        need_runtime("ctys.core.spawn")?;
        let handle = tokio::task::spawn_local(async move { f.call_async::<MultiValue>(args).await });
        Ok(Task { handle: RefCell::new(Some(handle)) })
    })?;
    Ok(())
}
