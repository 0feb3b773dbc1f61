//! The only place that binds Rust to Lua: each area registers its functions into the
//! `ctys.core` table (`package.loaded["ctys.core"]`); `stdlib/ctys/*` wraps them for users.
use std::path::PathBuf;

use mlua::{FromLua, IntoLuaMulti, Lua, LuaString, MultiValue, Table, Value};

mod fs;
mod held;
mod host;
mod ipmi;
mod ipmi_records;
mod redfish;
mod json;
mod net;
mod probe;
mod proc;
mod qmp;
mod remote;
mod remote_copy;
mod signature;
mod sol;
mod spec;
mod task;
mod term;
mod vde;
mod wol;

pub use task::set_in_runtime;
use signature::{def, def_async};

/// The areas bound when a script first asks `ctys.core` for something not bound yet: start-up
/// (`ctys -e ''`, a tool's --help) binds only the host and the tasks.
const LAZY: [fn(&Lua, &Table) -> mlua::Result<()>; 12] =
    [fs::register, remote::register, remote_copy::register, wol::register, probe::register, proc::register, net::register, vde::register, ipmi::register, redfish::register, qmp::register, term::register];

/// Builds `ctys.core` and makes it loadable as `require "ctys.core"`.
pub fn register(lua: &Lua, search_dirs: &[PathBuf]) -> mlua::Result<()> {
    let core = lua.create_table()?;
    host::register(lua, &core, search_dirs)?;
    task::register(lua, &core)?;
    spec::register(lua, &core)?;
    // A missing key (or pairs) binds every other area once, then the metatable goes: later
    // lookups are plain table reads.
    let bind_all = lua.create_function(|lua, core: Table| {
        if core.metatable().is_some() {
            core.set_metatable(None)?;
            for register in LAZY {
                register(lua, &core)?;
            }
        }
        Ok(())
    })?;
    let meta = lua.create_table()?;
    let bind = bind_all.clone();
    meta.set("__index", lua.create_function(move |_, (core, key): (Table, Value)| {
        bind.call::<()>(&core)?;
        core.raw_get::<Value>(key)
    })?)?;
    meta.set("__pairs", lua.create_function(move |lua, core: Table| {
        bind_all.call::<()>(&core)?;
        let next: mlua::Function = lua.globals().get("next")?;
        Ok((next, core, Value::Nil))
    })?)?;
    core.set_metatable(Some(meta))?;
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    loaded.set("ctys.core", core)
}

/// Text where Rust needs UTF-8 (a host, a user, a MAC, an interface name). A Lua string is
/// bytes: one that is not UTF-8 is refused with its bytes shown lossily (U+FFFD), never passed
/// on changed.
pub(crate) struct Text(pub String);

impl FromLua for Text {
    fn from_lua(v: Value, lua: &Lua) -> mlua::Result<Text> {
        let s = LuaString::from_lua(v, lua)?;
        utf8(&s).map(Text).ok_or_else(|| mlua::Error::runtime(not_text(&s)))
    }
}

/// The string as UTF-8 text, or None.
pub(crate) fn utf8(s: &LuaString) -> Option<String> {
    std::str::from_utf8(&s.as_bytes()).ok().map(str::to_owned)
}

/// Why a string is refused as text: its first 64 characters, lossily.
pub(crate) fn not_text(s: &LuaString) -> String {
    let shown: String = s.to_string_lossy().chars().take(64).collect();
    format!("'{shown}' is not UTF-8 text")
}

/// Field `key` of a spec as text, if present; one that is not UTF-8 raises
/// `ctys.core.FNAME: bad argument 'spec.KEY': '...' is not UTF-8 text`.
pub(crate) fn text_field(fname: &str, t: &Table, key: &str) -> mlua::Result<Option<String>> {
    match t.get::<Option<LuaString>>(key)? {
        None => Ok(None),
        Some(s) => utf8(&s).map(Some).ok_or_else(|| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.{key}': {}", not_text(&s)))),
    }
}

/// A number of seconds from Lua (absent: `default`), read by the one duration rule
/// (prim::duration); a bad one raises `ctys.core.FNAME: bad argument 'NAME': ...`.
pub(crate) fn seconds(fname: &str, name: &str, v: Option<f64>, default: f64) -> mlua::Result<std::time::Duration> {
    crate::prim::duration::from_secs(v.unwrap_or(default))
        .map_err(|e| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument '{name}': {e}")))
}

/// `ok` as Lua values, or the one shape of an expected failure: `nil, message, kind`.
pub(crate) fn ret<T: IntoLuaMulti>(lua: &Lua, r: Result<T, crate::prim::failure::Failure>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => failure(lua, e),
    }
}

/// A primitive's failure as Lua sees it: `nil, message, kind`.
pub(crate) fn failure(lua: &Lua, e: crate::prim::failure::Failure) -> mlua::Result<MultiValue> {
    (Value::Nil, e.message, e.kind.name()).into_lua_multi(lua)
}

/// An expected failure as Lua sees it: `nil, message`.
pub(crate) fn nil_err(lua: &Lua, msg: impl Into<String>) -> mlua::Result<MultiValue> {
    (Value::Nil, msg.into()).into_lua_multi(lua)
}
