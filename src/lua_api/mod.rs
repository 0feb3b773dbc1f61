//! The only place that binds Rust to Lua: each area registers its functions into the
//! `ctys.core` table (`package.loaded["ctys.core"]`); `stdlib/ctys/*` wraps them for users.
use std::path::PathBuf;

use mlua::{FromLua, IntoLuaMulti, Lua, LuaString, MultiValue, Table, Value};

mod fs;
mod host;
mod ipmi;
mod net;
mod probe;
mod proc;
mod remote;
mod task;
mod vde;
mod wol;

pub use task::set_in_runtime;

/// Builds `ctys.core` and makes it loadable as `require "ctys.core"`.
pub fn register(lua: &Lua, search_dirs: &[PathBuf]) -> mlua::Result<()> {
    let core = lua.create_table()?;
    host::register(lua, &core, search_dirs)?;
    fs::register(lua, &core)?;
    task::register(lua, &core)?;
    remote::register(lua, &core)?;
    wol::register(lua, &core)?;
    probe::register(lua, &core)?;
    proc::register(lua, &core)?;
    net::register(lua, &core)?;
    vde::register(lua, &core)?;
    ipmi::register(lua, &core)?;
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
/// `bad argument 'KEY': '...' is not UTF-8 text`.
pub(crate) fn text_field(t: &Table, key: &str) -> mlua::Result<Option<String>> {
    match t.get::<Option<LuaString>>(key)? {
        None => Ok(None),
        Some(s) => utf8(&s).map(Some).ok_or_else(|| mlua::Error::runtime(format!("bad argument '{key}': {}", not_text(&s)))),
    }
}

/// A number of seconds from Lua (absent: `default`), read by the one duration rule
/// (prim::duration); a bad one raises `ctys.core.FNAME: bad argument 'NAME': ...`.
pub(crate) fn seconds(fname: &str, name: &str, v: Option<f64>, default: f64) -> mlua::Result<std::time::Duration> {
    crate::prim::duration::from_secs(v.unwrap_or(default))
        .map_err(|e| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument '{name}': {e}")))
}

/// A primitive's failure as Lua sees it: its message and its kind.
pub(crate) trait Failure {
    fn parts(self) -> (String, &'static str);
}

impl Failure for crate::prim::failure::Failure {
    fn parts(self) -> (String, &'static str) {
        (self.message, self.kind.name())
    }
}

/// `ok` as Lua values, or `nil, message, kind`.
pub(crate) fn ret<T: IntoLuaMulti, E: Failure>(lua: &Lua, r: Result<T, E>) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => {
            let (message, kind) = e.parts();
            (Value::Nil, message, kind).into_lua_multi(lua)
        }
    }
}

/// An expected failure as Lua sees it: `nil, message`.
pub(crate) fn nil_err(lua: &Lua, msg: impl Into<String>) -> mlua::Result<MultiValue> {
    (Value::Nil, msg.into()).into_lua_multi(lua)
}
