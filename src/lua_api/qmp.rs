//! `ctys.core.qmp_open`: a QEMU guest's control socket (QMP) from Lua.
use std::time::Duration;

use mlua::{IntoLuaMulti, Lua, Table, UserData, UserDataMethods, Value};

use super::def_async;
use super::fs::LuaPath;
use super::held::Held;
use super::{failure, json, seconds};
use crate::prim::qmp::Qmp;

/// An open session (see held.rs: one call at a time; one whose socket closed stays closed).
struct Session(Held<Qmp>);

fn wait(method: &str, timeout: Option<f64>) -> mlua::Result<Duration> {
    seconds(&format!("qmp_open: session:{method}"), "timeout", timeout, 5.0)
}

impl UserData for Session {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_async_method("execute", |lua, this, (command, arguments, timeout): (String, Value, Option<f64>)| async move {
            let args = match arguments {
                Value::Nil => None,
                Value::Table(_) => Some(json::from_lua(&arguments, "arguments").map_err(|e| mlua::Error::runtime(format!("ctys.core.qmp_open: session:execute: bad argument {e}")))?),
                other => return Err(mlua::Error::runtime(format!("ctys.core.qmp_open: session:execute: bad argument 'arguments': expected a table, got {}", other.type_name()))),
            };
            let timeout = wait("execute", timeout)?;
            this.0.with(&lua, async move |q| q.execute(&command, args, timeout).await, |lua, v| json::to_lua(lua, &v)?.into_lua_multi(lua)).await
        });
        m.add_async_method("event", |lua, this, (name, timeout): (Option<String>, Option<f64>)| async move {
            let timeout = wait("event", timeout)?;
            this.0.with(&lua, async move |q| q.event(name.as_deref(), timeout).await, |lua, v| json::to_lua(lua, &v)?.into_lua_multi(lua)).await
        });
        m.add_method("version", |_, this, ()| Ok(this.0.peek(|q| format!("{}.{}.{}", q.version.0, q.version.1, q.version.2))));
        m.add_method("close", |_, this, ()| {
            this.0.take();
            Ok(())
        });
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "qmp_open", |lua, (LuaPath(path), timeout, owners): (LuaPath, Option<f64>, Option<Vec<u32>>)| async move {
        let timeout = seconds("qmp_open", "timeout", timeout, 5.0)?;
        let r = Qmp::connect(&path, timeout, &owners.unwrap_or_default()).await;
        match r {
            Ok(q) => Session(Held::new(q, "qmp".into())).into_lua_multi(&lua),
            Err(e) => failure(&lua, e),
        }
    })
}
