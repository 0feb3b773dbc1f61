//! `ctys.core.term_screen`: the local terminal as a full-screen view (prim/screen.rs).
use mlua::{IntoLuaMulti, Lua, LuaString, Table, UserData, UserDataMethods, Value};

use super::held::Held;
use super::{def, failure, seconds};
use crate::prim::screen::Screen;

/// The view (see held.rs: a key wait takes it; close gives the terminal back).
struct View(Held<Screen>);

impl UserData for View {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("size", |lua, this, ()| match this.0.peek(Screen::size) {
            Some((rows, cols)) => (rows, cols).into_lua_multi(lua),
            None => (Value::Nil, "the screen is closed or busy").into_lua_multi(lua),
        });
        m.add_method("write", |_, this, bytes: LuaString| Ok(this.0.peek(|s| s.write(&bytes.as_bytes())).is_some()));
        m.add_async_method("key", |lua, this, timeout: Option<f64>| async move {
            let t = seconds("term_screen: screen:key", "timeout", timeout, 1.0)?;
            this.0
                .with(&lua, async move |s| s.key(t).await, |lua, k| match k {
                    Some(bytes) => lua.create_string(&bytes)?.into_lua_multi(lua),
                    None => Value::Boolean(false).into_lua_multi(lua),
                })
                .await
        });
        m.add_method("close", |_, this, ()| {
            this.0.take();
            Ok(())
        });
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def(lua, core, "term_screen", |lua, ()| match Screen::enter() {
        Ok(s) => View(Held::new(s, "screen".into())).into_lua_multi(lua),
        Err(e) => failure(lua, e),
    })
}
