//! `ctys.core.fs_*`: files whose owner matters (prim::fs). Paths are byte strings, so a
//! non-UTF-8 name works. Failures return `nil, message, kind`.
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use mlua::{Lua, Table};

use super::ret;
use crate::prim::failure::{Failure, Kind};
use crate::prim::fs;

/// A Lua string as a path, byte for byte.
pub(crate) fn path(s: &mlua::LuaString) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(&s.as_bytes()))
}

/// Field `key` of a spec as a path, byte for byte, if present.
pub(crate) fn path_field(t: &Table, key: &str) -> mlua::Result<Option<PathBuf>> {
    Ok(t.get::<Option<mlua::LuaString>>(key)?.map(|s| path(&s)))
}

/// `Ok(None)` (nothing there) as the failure `notfound`.
fn present<T>(p: &Path, r: Result<Option<T>, Failure>) -> Result<T, Failure> {
    r.and_then(|v| v.ok_or_else(|| Failure::new(Kind::NotFound, format!("{}: no such file", p.display()))))
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    core.set(
        "fs_read",
        lua.create_function(|lua, (p, max, owners): (mlua::LuaString, u64, Option<Vec<u32>>)| {
            let p = path(&p);
            let r = present(&p, fs::read(&p, max, owners.as_deref()));
            match r {
                Ok(d) => ret::<_, Failure>(lua, Ok(lua.create_string(d)?)),
                Err(e) => ret::<(), _>(lua, Err(e)),
            }
        })?,
    )?;
    core.set(
        "fs_write",
        lua.create_function(|lua, (p, data, mode): (mlua::LuaString, mlua::LuaString, u32)| {
            ret(lua, fs::write_atomic(&path(&p), &data.as_bytes(), mode).map(|()| true))
        })?,
    )?;
    core.set(
        "fs_remove",
        lua.create_function(|lua, (p, owners): (mlua::LuaString, Option<Vec<u32>>)| {
            ret(lua, fs::remove(&path(&p), owners.as_deref().unwrap_or_default()))
        })?,
    )?;
    core.set(
        "fs_private_dir",
        lua.create_function(|lua, p: mlua::LuaString| ret(lua, fs::private_dir(&path(&p)).map(|()| true)))?,
    )?;
    core.set(
        "fs_stat",
        lua.create_function(|lua, p: mlua::LuaString| {
            let p = path(&p);
            match present(&p, fs::stat(&p)) {
                Ok(s) => {
                    let t = lua.create_table()?;
                    t.set("type", s.kind)?;
                    t.set("uid", s.uid)?;
                    t.set("gid", s.gid)?;
                    t.set("mode", s.mode)?;
                    t.set("size", s.size)?;
                    ret::<_, Failure>(lua, Ok(t))
                }
                Err(e) => ret::<(), _>(lua, Err(e)),
            }
        })?,
    )?;
    Ok(())
}
