//! `ctys.core.vde_*`: starting vde_switch, its management socket, its sockets on disk.
use std::cell::RefCell;
use std::path::PathBuf;

use mlua::{IntoLuaMulti, Lua, Table, UserData, UserDataMethods};
use super::{def, def_async};

use crate::prim::vde::{self, Mgmt, SwitchSpec};

use super::{failure, nil_err as fail, ret, seconds};

/// An open management session.
struct Session(RefCell<Option<Mgmt>>);

impl UserData for Session {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("cmd", |lua, this, line: String| {
            let mut g = this.0.borrow_mut();
            let Some(s) = g.as_mut() else { return fail(lua, "the management session is closed") };
            match s.cmd(&line) {
                Ok(r) => {
                    let t = lua.create_table()?;
                    t.set("code", r.code)?;
                    t.set("text", r.text)?;
                    t.set("data", r.data)?;
                    t.set("notes", r.notes)?;
                    if r.code == 9999 {
                        *g = None;
                    }
                    t.into_lua_multi(lua)
                }
                Err(e) => {
                    *g = None;
                    failure(lua, e)
                }
            }
        });
        m.add_method("banner", |_, this, ()| Ok(this.0.borrow().as_ref().map(|s| s.banner.clone())));
        m.add_method("close", |_, this, ()| {
            this.0.borrow_mut().take();
            Ok(())
        });
    }
}

/// A path field that must be there, byte for byte.
fn path(fname: &str, t: &Table, key: &str) -> mlua::Result<PathBuf> {
    super::fs::path_field(fname, t, key)?.ok_or_else(|| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.{key}': missing")))
}

/// A path as a Lua string, byte for byte.
fn lua_path(lua: &Lua, p: &std::path::Path) -> mlua::Result<mlua::LuaString> {
    lua.create_string(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()))
}

use super::spec::Schema;

pub(super) const FILES: Schema = Schema { class: "ctys.core.VdeFiles", fields: &["sock", "mgmt", "pidfile"] };
pub(super) const START: Schema = Schema {
    class: "ctys.core.VdeStartSpec",
    fields: &["sock", "mgmt", "pidfile", "exe", "tap", "group", "mode", "mgmt_mode", "timeout"],
};
pub(super) const OWN: Schema = Schema { class: "ctys.core.VdeOwnSpec", fields: &["sock", "mgmt", "pidfile", "uid", "gid", "setgid"] };
pub(super) const REMOVE: Schema = Schema { class: "ctys.core.VdeRemoveSpec", fields: &["sock", "mgmt", "pidfile", "owners", "dry"] };

/// The three paths of a switch from a Lua table {sock, mgmt, pidfile, ...}, whose keys are
/// checked against the binding's schema first.
fn files(fname: &str, t: &Table, schema: &Schema) -> mlua::Result<SwitchSpec> {
    super::spec::check(fname, t, schema)?;
    Ok(SwitchSpec {
        sock: path(fname, t, "sock")?,
        mgmt: path(fname, t, "mgmt")?,
        pidfile: path(fname, t, "pidfile")?,
        ..Default::default()
    })
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def(lua, core, "vde_find", |lua, ()| match vde::find_switch() {
        Ok(p) => p.display().to_string().into_lua_multi(lua),
        Err(e) => fail(lua, e),
    })?;
    def_async(lua, core, "vde_start", |lua, t: Table| async move {
        let exe = match super::fs::path_field("vde_start", &t, "exe")? {
            Some(e) => e,
            None => match vde::find_switch() {
                Ok(p) => p,
                Err(e) => return fail(&lua, e),
            },
        };
        let spec = SwitchSpec {
            tap: super::text_field("vde_start", &t, "tap")?,
            group: t.get("group")?,
            mode: t.get("mode")?,
            mgmt_mode: t.get("mgmt_mode")?,
            ..files("vde_start", &t, &START)?
        };
        let timeout = seconds("vde_start", "timeout", t.get("timeout")?, 5.0)?;
        match tokio::task::spawn_blocking(move || vde::start(&exe, &spec, timeout)).await {
            Ok(r) => ret(&lua, r),
            Err(e) => fail(&lua, format!("vde_start: {e}")),
        }
    })?;
    def(lua, core, "vde_switch_pid", |lua, super::fs::LuaPath(p): super::fs::LuaPath| ret(lua, vde::switch_pid(&p).map(|pid| pid.map_or(mlua::Value::Boolean(false), |p| mlua::Value::Integer(p.into())))))?;
    def(lua, core, "vde_answers", |lua, super::fs::LuaPath(p): super::fs::LuaPath| ret(lua, vde::data_answers(&p).map(|()| true)))?;
    def(lua, core, "vde_check_paths", |lua, t: Table| ret(lua, vde::check_paths(&files("vde_check_paths", &t, &FILES)?).map(|()| true)))?;
    def(lua, core, "vde_own", |lua, t: Table| {
        match vde::own(&files("vde_own", &t, &OWN)?, t.get("uid")?, t.get("gid")?, t.get::<Option<bool>>("setgid")?.unwrap_or(false)) {
            Ok(()) => true.into_lua_multi(lua),
            Err(e) => fail(lua, e),
        }
    })?;
    def(lua, core, "vde_remove", |lua, t: Table| {
        let owners = t.get::<Option<Vec<u32>>>("owners")?.unwrap_or_default();
        let gone = vde::remove_files(&files("vde_remove", &t, &REMOVE)?, &owners, t.get::<Option<bool>>("dry")?.unwrap_or(false));
        match gone {
            Ok(g) => g.iter().map(|p| lua_path(lua, p)).collect::<mlua::Result<Vec<_>>>()?.into_lua_multi(lua),
            Err(e) => failure(lua, e),
        }
    })?;
    def(lua, core, "vde_connect", |lua, (super::fs::LuaPath(path), timeout, owners): (super::fs::LuaPath, Option<f64>, Option<Vec<u32>>)| {
        let m = Mgmt::connect(&path, seconds("vde_connect", "timeout", timeout, 2.0)?, &owners.unwrap_or_default());
        ret(lua, m.map(|m| Session(RefCell::new(Some(m)))))
    })?;
    def(lua, core, "vde_parse_ports", |lua, data: Vec<String>| {
        let out = lua.create_table()?;
        for p in vde::parse_ports(&data) {
            let t = lua.create_table()?;
            t.set("port", p.number)?;
            t.set("active", p.active)?;
            t.set("vlan", p.vlan)?;
            t.set("user", p.user)?;
            let eps = lua.create_table()?;
            for e in p.endpoints {
                let et = lua.create_table()?;
                et.set("id", e.id)?;
                et.set("module", e.module)?;
                et.set("description", e.description)?;
                eps.raw_push(et)?;
            }
            t.set("endpoints", eps)?;
            out.raw_push(t)?;
        }
        Ok(out)
    })?;
    def(lua, core, "vde_parse_info", |lua, data: Vec<String>| {
        let i = vde::parse_info(&data);
        let t = lua.create_table()?;
        t.set("version", i.version)?;
        t.set("pid", i.pid)?;
        t.set("mac", i.mac)?;
        t.set("uptime", i.uptime)?;
        t.set("numports", i.numports)?;
        Ok(t)
    })?;
    def(lua, core, "vde_sockets", |lua, (super::fs::LuaPath(dir), all): (super::fs::LuaPath, Option<bool>)| {
        let out = lua.create_table()?;
        for e in vde::sockets(&dir, all.unwrap_or(false)) {
            let t = lua.create_table()?;
            t.set("path", lua_path(lua, &e.path)?)?;
            t.set("uid", e.uid)?;
            t.set("gid", e.gid)?;
            t.set("mode", e.mode)?;
            t.set("base", e.base)?;
            out.raw_push(t)?;
        }
        Ok(out)
    })?;
    Ok(())
}
