//! `ctys.core.wol_*`: magic packets from Lua.
use std::net::{IpAddr, SocketAddr};

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};
use super::{def, def_async};

use crate::prim::wol::{self, Mac, Password, RawSender, BROADCAST};

use super::{nil_err as fail, text_field, utf8};

fn mac(s: &str) -> mlua::Result<Mac> {
    Mac::parse(s).map_err(mlua::Error::runtime)
}

/// Where a spec says to send: UDP to `broadcast`:`port` (bound to `iface` if given), or a raw
/// frame on `iface` to `bmac`, the target's own MAC (`unicast`), or the broadcast MAC.
enum Route {
    Udp { sock: std::net::UdpSocket, dest: SocketAddr },
    Raw { tx: RawSender, dst: Mac, to_target: bool },
}

fn route(fname: &str, spec: &Table) -> mlua::Result<Result<Route, String>> {
    let iface = text_field(fname, spec, "iface")?;
    if spec.get::<Option<bool>>("raw")?.unwrap_or(false) {
        let to_target = spec.get::<Option<bool>>("unicast")?.unwrap_or(false);
        let dst = match text_field(fname, spec, "bmac")? {
            Some(b) => mac(&b)?,
            None => BROADCAST,
        };
        let r = wol::interface(iface.as_deref()).and_then(|i| RawSender::open(&i));
        return Ok(r.map(|tx| Route::Raw { tx, dst, to_target }));
    }
    let addr = text_field(fname, spec, "broadcast")?.unwrap_or_else(|| "255.255.255.255".into());
    let ip: IpAddr = addr.parse().map_err(|_| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'spec.broadcast': {addr:?} is not an IP address")))?;
    let dest = SocketAddr::new(ip, spec.get::<Option<u16>>("port")?.unwrap_or(9));
    Ok(wol::udp_socket(&dest, iface.as_deref()).map(|sock| Route::Udp { sock, dest }))
}

fn password(spec: &Table) -> mlua::Result<Password> {
    match spec.get::<Option<mlua::LuaString>>("password")? {
        // The password is a secret: the message never repeats it.
        Some(p) => Password::parse(&utf8(&p).unwrap_or_default()).map_err(mlua::Error::runtime),
        None => Ok(Password::None),
    }
}

pub(super) const SPEC: super::spec::Schema = super::spec::Schema {
    class: "ctys.core.WolSpec",
    fields: &["mac", "broadcast", "port", "iface", "raw", "unicast", "bmac", "password", "count", "interval", "macs", "gso"],
};

async fn send(lua: Lua, spec: Table) -> mlua::Result<MultiValue> {
    super::spec::check("wol_send", &spec, &SPEC)?;
    let target = mac(&text_field("wol_send", &spec, "mac")?.unwrap_or_default())?;
    let pw = password(&spec)?;
    let count: u32 = spec.get::<Option<u32>>("count")?.unwrap_or(1);
    let interval = super::seconds("wol_send", "interval", spec.get("interval")?, 0.0)?;
    let mut r = match route("wol_send", &spec)? {
        Ok(r) => r,
        Err(e) => return fail(&lua, e),
    };
    for i in 0..count {
        if i > 0 {
            tokio::time::sleep(interval).await;
        }
        let sent = match &mut r {
            Route::Udp { sock, dest } => wol::send_udp(sock, dest, target, pw),
            Route::Raw { tx, dst, to_target } => tx.send(if *to_target { target } else { *dst }, target, pw),
        };
        if let Err(e) = sent {
            return fail(&lua, e);
        }
    }
    true.into_lua_multi(&lua)
}

/// Synchronous: the sends do not wait.
fn send_many(lua: &Lua, spec: Table) -> mlua::Result<MultiValue> {
    super::spec::check("wol_send_many", &spec, &SPEC)?;
    let list: Table = spec.get("macs")?;
    let mut macs = Vec::with_capacity(list.raw_len());
    for (i, v) in list.sequence_values::<Value>().enumerate() {
        // A bad MAC is the caller's misuse, raised by the stdlib as such: nil, why, "badarg", index.
        let parsed = match v? {
            Value::String(v) => Mac::parse(&utf8(&v).unwrap_or_else(|| v.to_string_lossy())),
            other => Err(format!("expected a MAC string, got {}", other.type_name())),
        };
        match parsed {
            Ok(m) => macs.push(m),
            Err(e) => return (Value::Nil, e, "badarg", i + 1).into_lua_multi(lua),
        }
    }
    let pw = password(&spec)?;
    let sent = match route("wol_send_many", &spec)? {
        Err(e) => Err(e),
        Ok(Route::Udp { sock, dest }) => {
            // Segmentation offload unless the caller says no; the primitive falls back to
            // sendmmsg where the kernel or the route refuses it.
            let gso = spec.get::<Option<bool>>("gso")?.unwrap_or(true);
            wol::send_udp_many(&sock, &dest, &macs, pw, gso)
        }
        Ok(Route::Raw { mut tx, dst, to_target }) => tx.send_many(dst, to_target, &macs, pw),
    };
    match sent {
        Ok(n) => n.into_lua_multi(lua),
        Err(e) => fail(lua, e),
    }
}

/// What `send` would put on the wire for a spec, without a socket: the bytes (a raw frame or
/// the UDP payload), where the password's bytes start, and the frame's interface and MACs or the
/// datagram's destination.
fn wire(lua: &Lua, spec: Table) -> mlua::Result<MultiValue> {
    super::spec::check("wol_wire", &spec, &SPEC)?;
    let target = mac(&text_field("wol_wire", &spec, "mac")?.unwrap_or_default())?;
    let pw = password(&spec)?;
    let t = lua.create_table()?;
    let (bytes, secret_at) = if spec.get::<Option<bool>>("raw")?.unwrap_or(false) {
        let i = match wol::interface(text_field("wol_wire", &spec, "iface")?.as_deref()) {
            Ok(i) => i,
            Err(e) => return fail(lua, e),
        };
        let Some(src) = i.mac.map(|m| m.octets()) else { return fail(lua, format!("interface {} has no MAC address", i.name)) };
        let dst = match (spec.get::<Option<bool>>("unicast")?.unwrap_or(false), text_field("wol_wire", &spec, "bmac")?) {
            (true, _) => target,
            (false, Some(b)) => mac(&b)?,
            (false, None) => BROADCAST,
        };
        t.set("iface", i.name.as_str())?;
        t.set("src", Mac(src).to_string())?;
        t.set("dst", dst.to_string())?;
        (wol::frame(dst, src, target, pw), wol::HEADER_LEN + wol::PASSWORD_AT)
    } else {
        let addr = text_field("wol_wire", &spec, "broadcast")?.unwrap_or_else(|| "255.255.255.255".into());
        t.set("dest", format!("{addr}:{}", spec.get::<Option<u16>>("port")?.unwrap_or(9)))?;
        (wol::payload(target, pw), wol::PASSWORD_AT)
    };
    t.set("bytes", lua.create_string(&bytes)?)?;
    t.set("secret_at", secret_at)?;
    t.into_lua_multi(lua)
}

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def(lua, core, "wol_wire", |lua, spec: Table| wire(lua, spec))?;
    // Not UTF-8 is not a MAC: the lossy text fails to parse and is named.
    def(lua, core, "wol_parse_mac", |lua, s: mlua::LuaString| match Mac::parse(&s.to_string_lossy()) {
    Ok(m) => m.to_string().into_lua_multi(lua),
    Err(e) => (Value::Nil, e).into_lua_multi(lua),
    })?;
    def(lua, core, "wol_check_password", |lua, pw: mlua::LuaString| match Password::parse(&utf8(&pw).unwrap_or_default()) {
        Ok(_) => true.into_lua_multi(lua),
        Err(e) => (Value::Nil, e).into_lua_multi(lua),
    })?;
    def_async(lua, core, "wol_send", send)?;
    def(lua, core, "wol_send_many", send_many)?;
    Ok(())
}
