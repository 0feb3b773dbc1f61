//! A session a Lua handle holds (a BMC, a QMP socket). An async method takes it out while it
//! waits, so calls are one at a time (another one meanwhile finds it busy), and puts it back
//! unless the session ended (a failure of kind closed).
use std::cell::RefCell;

use mlua::{IntoLuaMulti, Lua, MultiValue, Value};

use crate::prim::failure::{Failure, Kind};

pub(crate) struct Held<T> {
    slot: RefCell<Option<T>>,
    /// Names the session in the "closed or busy" message (none when empty).
    label: String,
}

impl<T> Held<T> {
    pub(crate) fn new(session: T, label: String) -> Held<T> {
        Held { slot: RefCell::new(Some(session)), label }
    }

    /// Something read off the session, when it is there (not closed, not busy).
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.slot.borrow().as_ref().map(f)
    }

    /// The session, taken for good (to close it).
    pub(crate) fn take(&self) -> Option<T> {
        self.slot.borrow_mut().take()
    }

    /// Runs `f` on the session and makes its result Lua's: `out`'s values, or `nil, err, kind`.
    pub(crate) async fn with<R>(
        &self,
        lua: &Lua,
        f: impl AsyncFnOnce(&mut T) -> Result<R, Failure>,
        out: impl FnOnce(&Lua, R) -> mlua::Result<MultiValue>,
    ) -> mlua::Result<MultiValue> {
        let taken = self.slot.borrow_mut().take();
        let Some(mut s) = taken else {
            let prefix = if self.label.is_empty() { String::new() } else { format!("{}: ", self.label) };
            return (Value::Nil, format!("{prefix}the session is closed or busy"), Kind::Closed.name()).into_lua_multi(lua);
        };
        let r = f(&mut s).await;
        if !matches!(&r, Err(e) if e.kind == Kind::Closed) {
            *self.slot.borrow_mut() = Some(s);
        }
        match r {
            Ok(v) => out(lua, v),
            Err(e) => super::failure(lua, e),
        }
    }
}
