//! A BMC's Serial-over-LAN console as Lua sees it (`bmc:sol{force}`): it shares the BMC's
//! session (one call at a time, see held.rs), so the machine can be power-cycled while its
//! console is watched. `expect` and `read_line` wait on a buffer of what the serial line said,
//! matched with Lua's own patterns.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mlua::{IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};

use super::held::Held;
use crate::prim::failure::Kind;
use crate::prim::ipmi::Session;

/// The most bytes `expect` keeps unmatched (older ones are dropped from the front).
const MAX_BUFFER: usize = 1 << 20;

pub(super) struct Console {
    pub(super) session: Rc<Held<Session>>,
    buf: RefCell<Vec<u8>>,
}

impl Console {
    pub(super) fn new(session: Rc<Held<Session>>) -> Console {
        Console { session, buf: RefCell::new(Vec::new()) }
    }
}

fn seconds(v: Option<f64>, default: f64) -> mlua::Result<Duration> {
    super::seconds("ipmi sol", "timeout", v, default)
}

/// Reads more into the buffer until `until`: Err(values) is the failure to return (nil, err,
/// kind).
async fn fill(lua: &Lua, c: &Console, until: Instant) -> mlua::Result<Result<(), MultiValue>> {
    let left = until.saturating_duration_since(Instant::now());
    let v = c.session.with(lua, async move |s| s.sol_recv(left).await, |lua, d| lua.create_string(&d)?.into_lua_multi(lua)).await?;
    Ok(match v.front() {
        Some(Value::String(s)) => {
            let mut b = c.buf.borrow_mut();
            b.extend_from_slice(&s.as_bytes());
            let over = b.len().saturating_sub(MAX_BUFFER);
            b.drain(..over);
            Ok(())
        }
        _ => Err(v),
    })
}

fn timed_out(lua: &Lua, what: &str) -> mlua::Result<MultiValue> {
    (Value::Nil, format!("ipmi sol: {what}"), Kind::Timeout.name()).into_lua_multi(lua)
}

impl UserData for Console {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_async_method("send", |lua, this, s: mlua::LuaString| async move {
            let data = s.as_bytes().to_vec();
            this.session.with(&lua, async move |x| x.sol_send(&data, false).await, |lua, _| true.into_lua_multi(lua)).await
        });
        m.add_async_method("break_", |lua, this, ()| async move {
            this.session.with(&lua, async move |x| x.sol_send(&[], true).await, |lua, _| true.into_lua_multi(lua)).await
        });
        // What came since the last read (and whatever expect left), waiting up to `timeout`.
        m.add_async_method("read", |lua, this, timeout: Option<f64>| async move {
            let until = Instant::now() + seconds(timeout, 1.0)?;
            if this.buf.borrow().is_empty() {
                if let Err(v) = fill(&lua, &this, until).await? {
                    return Ok(v);
                }
            }
            let data: Vec<u8> = this.buf.borrow_mut().drain(..).collect();
            lua.create_string(&data)?.into_lua_multi(&lua)
        });
        m.add_async_method("read_line", |lua, this, timeout: Option<f64>| async move {
            let until = Instant::now() + seconds(timeout, 10.0)?;
            loop {
                let nl = this.buf.borrow().iter().position(|&b| b == b'\n');
                if let Some(i) = nl {
                    let mut line: Vec<u8> = this.buf.borrow_mut().drain(..=i).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return lua.create_string(&line)?.into_lua_multi(&lua);
                }
                if Instant::now() >= until {
                    return timed_out(&lua, "no whole line before the timeout");
                }
                if let Err(v) = fill(&lua, &this, until).await? {
                    return Ok(v);
                }
            }
        });
        // The first match of a Lua pattern in what the line says from here on; what precedes
        // the match and the match itself are consumed.
        m.add_async_method("expect", |lua, this, (pattern, timeout): (mlua::LuaString, Option<f64>)| async move {
            let until = Instant::now() + seconds(timeout, 10.0)?;
            let find: mlua::Function = lua.globals().get::<mlua::Table>("string")?.get("find")?;
            loop {
                let hay = lua.create_string(&*this.buf.borrow())?;
                let (first, last): (Option<usize>, Option<usize>) = find.call((hay.clone(), pattern.clone()))?;
                if let (Some(a), Some(b)) = (first, last) {
                    let matched = hay.as_bytes()[a - 1..b].to_vec();
                    this.buf.borrow_mut().drain(..b);
                    return lua.create_string(&matched)?.into_lua_multi(&lua);
                }
                if Instant::now() >= until {
                    return timed_out(&lua, &format!("no match for {:?} before the timeout", pattern.to_string_lossy()));
                }
                if let Err(v) = fill(&lua, &this, until).await? {
                    return Ok(v);
                }
            }
        });
        // This terminal on the console until `escape` (`~`) `.`: "escape", or "eof" when stdin
        // ended.
        m.add_async_method("attach", |lua, this, escape: Option<mlua::LuaString>| async move {
            let esc = match escape.as_ref().map(|e| e.as_bytes().to_vec()) {
                None => b'~',
                Some(e) if e.len() == 1 => e[0],
                Some(_) => return Err(mlua::Error::runtime("ctys.core.ipmi_open: console:attach: bad argument 'escape': one character")),
            };
            this.session
                .with(&lua, async move |s| s.sol_attach(esc).await, |lua, d| {
                    (if d == crate::prim::ipmi::sol::Detach::Escape { "escape" } else { "eof" }).into_lua_multi(lua)
                })
                .await
        });
        m.add_async_method("close", |lua, this, ()| async move {
            this.session.with(&lua, async move |x| x.sol_deactivate().await, |lua, _| true.into_lua_multi(lua)).await
        });
    }
}
