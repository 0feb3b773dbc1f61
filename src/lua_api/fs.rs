//! `ctys.core.fs_*`: files whose owner matters (prim::fs). Paths are byte strings, so a
//! non-UTF-8 name works. Failures return `nil, message, kind`.
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use mlua::{FromLua, Lua, Table, Value};
use super::def;

use super::{failure, ret};
use crate::prim::failure::{Failure, Kind};
use crate::prim::fs;

/// A Lua string as a path, byte for byte.
pub(crate) fn path(s: &mlua::LuaString) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(&s.as_bytes()))
}

/// A path argument: a string only (a number is not turned into a file name to act on).
pub(crate) struct LuaPath(pub PathBuf);

pub(super) fn path_value(v: Value) -> Result<PathBuf, String> {
    match v {
        Value::String(s) => Ok(path(&s)),
        other => Err(format!("expected a path (a string), got {}", other.type_name())),
    }
}

impl FromLua for LuaPath {
    fn from_lua(v: Value, _: &Lua) -> mlua::Result<LuaPath> {
        path_value(v).map(LuaPath).map_err(mlua::Error::runtime)
    }
}

/// Field `key` of a spec as a path, byte for byte, if present.
pub(crate) fn path_field(fname: &str, t: &Table, key: &str) -> mlua::Result<Option<PathBuf>> {
    match t.get::<Value>(key)? {
        Value::Nil => Ok(None),
        v => path_value(v).map(Some).map_err(|e| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.{key}': {e}"))),
    }
}

/// `Ok(None)` (nothing there) as the failure `notfound`.
fn present<T>(p: &Path, r: Result<Option<T>, Failure>) -> Result<T, Failure> {
    r.and_then(|v| v.ok_or_else(|| Failure::new(Kind::NotFound, format!("{}: no such file", p.display()))))
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def(lua, core, "fs_read", |lua, (LuaPath(p), max, owners): (LuaPath, u64, Option<Vec<u32>>)| {
        let r = present(&p, fs::read(&p, max, owners.as_deref()));
        match r {
            Ok(d) => ret(lua, Ok(lua.create_string(d)?)),
            Err(e) => failure(lua, e),
        }
    })?;
    def(lua, core, "fs_write", |lua, (LuaPath(p), data, mode): (LuaPath, mlua::LuaString, u32)| {
        ret(lua, fs::write_atomic(&p, &data.as_bytes(), mode).map(|()| true))
    })?;
    def(lua, core, "fs_remove", |lua, (LuaPath(p), owners, within): (LuaPath, Option<Vec<u32>>, Option<LuaPath>)| {
        ret(lua, fs::remove(&p, owners.as_deref().unwrap_or_default(), within.as_ref().map(|w| w.0.as_path())))
    })?;
    def(lua, core, "fs_chmod", |lua, (LuaPath(p), mode): (LuaPath, u32)| ret(lua, fs::chmod(&p, mode).map(|()| true)))?;
    def(lua, core, "fs_chown", |lua, (LuaPath(p), uid, gid): (LuaPath, Option<u32>, Option<u32>)| ret(lua, fs::chown(&p, uid, gid).map(|()| true)))?;
    def(lua, core, "fs_rename", |lua, (LuaPath(from), LuaPath(to)): (LuaPath, LuaPath)| ret(lua, fs::rename(&from, &to).map(|()| true)))?;
    def(lua, core, "fs_private_dir", |lua, LuaPath(p): LuaPath| ret(lua, fs::private_dir(&p).map(|()| true)))?;
    def(lua, core, "fs_stat", |lua, LuaPath(p): LuaPath| {
        match present(&p, fs::stat(&p)) {
            Ok(s) => {
                let t = lua.create_table()?;
                t.set("type", s.kind)?;
                t.set("uid", s.uid)?;
                t.set("gid", s.gid)?;
                t.set("mode", s.mode)?;
                t.set("size", s.size)?;
                ret(lua, Ok(t))
            }
            Err(e) => failure(lua, e),
        }
    })?;
    def(lua, core, "fs_list", |lua, (LuaPath(dir), max): (LuaPath, usize)| match fs::list_files(&dir, max) {
        Ok(list) => ret(lua, Ok(list.iter().map(|p| lua.create_string(p.as_os_str().as_bytes())).collect::<mlua::Result<Vec<_>>>()?)),
        Err(e) => failure(lua, e),
    })?;
    Ok(())
}
