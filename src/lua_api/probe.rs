//! `ctys.core.ping`, `ctys.core.tcp_probe`, `ctys.core.resolve`: is a machine there, and where.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};
use super::{def, def_async};

use crate::prim::{probe, resolve};

fn ip(s: &mlua::LuaString) -> mlua::Result<IpAddr> {
    super::utf8(s).and_then(|t| t.parse().ok()).ok_or_else(|| mlua::Error::runtime(format!("{:?} is not an IP address", s.to_string_lossy())))
}

/// Runs a blocking probe on the runtime's blocking pool and turns its result into `rtt | nil, err`.
async fn blocking(lua: &Lua, f: impl FnOnce() -> Result<Duration, String> + Send + 'static) -> mlua::Result<MultiValue> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(rtt)) => rtt.as_secs_f64().into_lua_multi(lua),
        Ok(Err(e)) => (Value::Nil, e).into_lua_multi(lua),
        Err(e) => Err(mlua::Error::runtime(format!("probe task failed: {e}"))),
    }
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def_async(lua, core, "ping", |lua, (addr, timeout, seq): (mlua::LuaString, f64, Option<u16>)| async move {
        let (a, t) = (ip(&addr)?, super::seconds("ping", "timeout", Some(timeout), 0.0)?);
        blocking(&lua, move || probe::ping(a, seq.unwrap_or(1), t)).await
    })?;
    def_async(lua, core, "tcp_probe", |lua, (addr, port, timeout, banner): (mlua::LuaString, u16, f64, Option<bool>)| async move {
        let (a, t) = (SocketAddr::new(ip(&addr)?, port), super::seconds("tcp_probe", "timeout", Some(timeout), 0.0)?);
        blocking(&lua, move || probe::tcp(a, t, banner.unwrap_or(false))).await
    })?;
    def(lua, core, "resolve", |lua, name: mlua::LuaString| match super::utf8(&name).map(|n| resolve::addrs(&n)) {
        Some(Ok(list)) => list.iter().map(|a| a.to_string()).collect::<Vec<_>>().into_lua_multi(lua),
        Some(Err(e)) => (Value::Nil, e).into_lua_multi(lua),
        // No name that is not UTF-8 can be looked up: it is not sent to a resolver.
        None => (Value::Nil, super::not_text(&name)).into_lua_multi(lua),
    })?;
    Ok(())
}
