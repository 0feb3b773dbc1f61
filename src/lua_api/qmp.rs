//! `ctys.core.qmp_open`: a QEMU guest's control socket (QMP) from Lua.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::def_async;
use super::fs::LuaPath;
use super::{failure, json, seconds};
use crate::prim::failure::{Failure, Kind};
use crate::prim::qmp::Qmp;

/// An open session; a method takes it out while it waits, so one call at a time.
struct Session(Rc<RefCell<Option<Qmp>>>);

async fn with<T>(
    s: &Session,
    lua: &Lua,
    f: impl AsyncFnOnce(&mut Qmp) -> Result<T, Failure>,
    out: impl FnOnce(&Lua, T) -> mlua::Result<MultiValue>,
) -> mlua::Result<MultiValue> {
    let taken = s.0.borrow_mut().take();
    let Some(mut q) = taken else {
        return failure(lua, Failure::new(Kind::Closed, "qmp: the session is closed or busy"));
    };
    let r = f(&mut q).await;
    // A session whose socket closed stays closed.
    if !matches!(&r, Err(e) if e.kind == Kind::Closed) {
        *s.0.borrow_mut() = Some(q);
    }
    match r {
        Ok(v) => out(lua, v),
        Err(e) => failure(lua, e),
    }
}

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
            with(&this, &lua, async move |q| q.execute(&command, args, timeout).await, |lua, v| json::to_lua(lua, &v)?.into_lua_multi(lua)).await
        });
        m.add_async_method("event", |lua, this, (name, timeout): (Option<String>, Option<f64>)| async move {
            let timeout = wait("event", timeout)?;
            with(&this, &lua, async move |q| q.event(name.as_deref(), timeout).await, |lua, v| json::to_lua(lua, &v)?.into_lua_multi(lua)).await
        });
        m.add_method("version", |_, this, ()| Ok(this.0.borrow().as_ref().map(|q| format!("{}.{}.{}", q.version.0, q.version.1, q.version.2))));
        m.add_method("close", |_, this, ()| {
            this.0.borrow_mut().take();
            Ok(())
        });
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "qmp_open", |lua, (LuaPath(path), timeout, owners): (LuaPath, Option<f64>, Option<Vec<u32>>)| async move {
        let timeout = seconds("qmp_open", "timeout", timeout, 5.0)?;
        let r = Qmp::connect(&path, timeout, &owners.unwrap_or_default()).await;
        match r {
            Ok(q) => Session(Rc::new(RefCell::new(Some(q)))).into_lua_multi(&lua),
            Err(e) => failure(&lua, e),
        }
    })
}
