//! `ctys.core.net_*`: links, bridges, addresses, routes (rtnetlink) and TAP devices;
//! `ctys.core.ethtool_wol_*`: a NIC's Wake-on-LAN settings (SIOCETHTOOL).
//! Failures return `nil, message, kind` (kind: permission, exists, nodevice, other; for
//! ethtool also unsupported — no Wake-on-LAN in the driver — and mode — a mode it lacks).
use std::cell::OnceCell;
use std::net::IpAddr;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};
use super::{def, def_async};

use super::{failure, ret, Text};

use crate::prim::ethtool::{self, Modes};
use crate::prim::net::tap::{self, TapSpec};
use crate::prim::net::{Addr, LinkChange, Net, NetError, Route};

thread_local! {
    /// One netlink connection for the host's thread, made on first use (inside the runtime).
    static NET: OnceCell<Net> = const { OnceCell::new() };
}

fn net() -> Result<Net, NetError> {
    NET.with(|c| match c.get() {
        Some(n) => Ok(n.clone()),
        None => {
            let n = Net::connect()?;
            let _ = c.set(n.clone());
            Ok(n)
        }
    })
}

fn addr(s: &str) -> mlua::Result<Addr> {
    let bad = || mlua::Error::runtime(format!("{s:?} is not an address with a prefix (10.0.0.1/24, fe80::1/64)"));
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if prefix > if ip.is_ipv4() { 32 } else { 128 } {
        return Err(bad());
    }
    Ok(Addr { ip, prefix })
}

fn addr_text(a: &Addr) -> String {
    format!("{}/{}", a.ip, a.prefix)
}

fn route_table(lua: &Lua, r: &Route, dev: Option<&str>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("dst", r.dst.as_ref().map(addr_text))?;
    t.set("gateway", r.gateway.map(|g| g.to_string()))?;
    t.set("dev", dev)?;
    t.set("metric", r.metric)?;
    t.set("protocol", r.protocol.as_str())?;
    t.set("scope", r.scope.as_str())?;
    Ok(t)
}

pub(super) const ROUTE: super::spec::Schema =
    super::spec::Schema { class: "ctys.core.RouteSpec", fields: &["dst", "gateway", "metric", "protocol", "scope"] };
pub(super) const LINK: super::spec::Schema = super::spec::Schema { class: "ctys.core.LinkChange", fields: &["up", "mtu", "master"] };

fn route_of(fname: &str, t: &Table) -> mlua::Result<Route> {
    super::spec::check(fname, t, &ROUTE)?;
    let Text(dst) = t.get("dst")?;
    let gateway = match t.get::<Option<String>>("gateway")? {
        Some(g) => Some(g.parse::<IpAddr>().map_err(|_| mlua::Error::runtime(format!("ctys.core.{fname}: bad argument 'route.gateway': {g:?} is not an IP address")))?),
        None => None,
    };
    Ok(Route {
        dst: Some(addr(&dst)?),
        gateway,
        oif: None,
        metric: t.get("metric")?,
        protocol: t.get::<Option<String>>("protocol")?.unwrap_or_else(|| "static".into()),
        scope: t.get::<Option<String>>("scope")?.unwrap_or_default(),
        table: 254,
    })
}

fn uid_of(user: &str) -> mlua::Result<u32> {
    if let Ok(n) = user.parse() {
        return Ok(n);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        _ => Err(mlua::Error::runtime(format!("no user named {user:?}"))),
    }
}

fn gid_of(group: &str) -> mlua::Result<u32> {
    if let Ok(n) = group.parse() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(mlua::Error::runtime(format!("no group named {group:?}"))),
    }
}

async fn links(lua: Lua) -> mlua::Result<MultiValue> {
    let r = async { net()?.links().await }.await;
    let list = match r {
        Ok(l) => l,
        Err(e) => return failure(&lua, e),
    };
    let out = lua.create_table()?;
    for l in &list {
        let t = lua.create_table()?;
        t.set("index", l.index)?;
        t.set("name", l.name.as_str())?;
        t.set("kind", l.kind.as_deref())?;
        t.set("up", l.up)?;
        t.set("master", l.master.and_then(|m| list.iter().find(|x| x.index == m)).map(|m| m.name.as_str()))?;
        t.set("mac", l.mac.as_deref())?;
        t.set("mtu", l.mtu)?;
        t.set("addrs", l.addrs.iter().map(addr_text).collect::<Vec<_>>())?;
        out.raw_push(t)?;
    }
    out.into_lua_multi(&lua)
}

async fn routes(lua: Lua) -> mlua::Result<MultiValue> {
    let n = match net() {
        Ok(n) => n,
        Err(e) => return failure(&lua, e),
    };
    let (rs, ls) = match (n.routes().await, n.links().await) {
        (Ok(r), Ok(l)) => (r, l),
        (Err(e), _) | (_, Err(e)) => return failure(&lua, e),
    };
    let out = lua.create_table()?;
    for r in &rs {
        let dev = r.oif.and_then(|i| ls.iter().find(|l| l.index == i)).map(|l| l.name.as_str());
        out.raw_push(route_table(&lua, r, dev)?)?;
    }
    out.into_lua_multi(&lua)
}

async fn neighbours(lua: Lua) -> mlua::Result<MultiValue> {
    let n = match net() {
        Ok(n) => n,
        Err(e) => return failure(&lua, e),
    };
    let (ns, ls) = match (n.neighbours().await, n.links().await) {
        (Ok(x), Ok(l)) => (x, l),
        (Err(e), _) | (_, Err(e)) => return failure(&lua, e),
    };
    let out = lua.create_table()?;
    for x in &ns {
        let t = lua.create_table()?;
        t.set("ip", x.ip.to_string())?;
        t.set("mac", x.mac.as_deref())?;
        t.set("dev", ls.iter().find(|l| l.index == x.ifindex).map(|l| l.name.as_str()))?;
        t.set("state", x.state.as_str())?;
        out.raw_push(t)?;
    }
    out.into_lua_multi(&lua)
}

pub(super) const TAP: super::spec::Schema = super::spec::Schema { class: "ctys.core.TapSpec", fields: &["name", "user", "group", "persist"] };

pub fn register(lua: &Lua, core: &Table) -> mlua::Result<()> {
    def(lua, core, "net_parse_ip", |_, s: mlua::LuaString| Ok(std::str::from_utf8(&s.as_bytes()).ok().and_then(|t| t.parse::<IpAddr>().ok()).map(|ip| ip.to_string())))?;
    def(lua, core, "net_valid_host", |_, s: mlua::LuaString| Ok(super::utf8(&s).is_some_and(|t| crate::prim::resolve::valid_host(&t))))?;
    def(lua, core, "net_check_name", |lua, name: mlua::LuaString| {
        // A name that is not UTF-8 is refused as it is shown (lossily), never changed.
        let Some(name) = super::utf8(&name) else {
            return (Value::Nil, format!("bad interface name: {}", super::not_text(&name))).into_lua_multi(lua);
        };
        if crate::prim::net::ifname::valid(&name) {
            true.into_lua_multi(lua)
        } else {
            (Value::Nil, crate::prim::net::ifname::refusal(&name)).into_lua_multi(lua)
        }
    })?;
    def_async(lua, core, "net_links", |lua, ()| links(lua))?;
    def_async(lua, core, "net_routes", |lua, ()| routes(lua))?;
    def_async(lua, core, "net_neighbours", |lua, ()| neighbours(lua))?;
    def_async(lua, core, "net_bridge_add", |lua, Text(name): Text| async move {
        let r = async { net()?.bridge_add(&name).await }.await;
        ret(&lua, r.map(|()| true))
    })?;
    def_async(lua, core, "net_link_del", |lua, Text(name): Text| async move {
        let r = async { net()?.link_del(&name).await }.await;
        ret(&lua, r.map(|()| true))
    })?;
    def_async(lua, core, "net_links_del", |lua, names: Vec<Text>| async move {
        let names: Vec<String> = names.into_iter().map(|t| t.0).collect();
        let r = async { net()?.links_del(&names).await }.await;
        ret(&lua, r.map(|()| true))
    })?;
    def_async(lua, core, "net_link_set", |lua, (Text(name), t): (Text, Table)| async move {
        super::spec::check("net_link_set", &t, &LINK)?;
        let master = match t.get::<Value>("master")? {
            Value::Nil => None,
            Value::Boolean(false) => Some(None),
            Value::String(s) => Some(Some(s.to_str()?.to_string())),
            other => return Err(mlua::Error::runtime(format!("ctys.core.net_link_set: bad argument 'change.master': a name or false, not {}", other.type_name()))),
        };
        let c = LinkChange { up: t.get("up")?, mtu: t.get("mtu")?, master };
        let r = async { net()?.link_set(&name, &c).await }.await;
        ret(&lua, r.map(|()| true))
    })?;
    for (fname, add) in [("net_addr_add", true), ("net_addr_del", false)] {
        def_async(lua, core, fname, move |lua, (Text(name), Text(a)): (Text, Text)| async move {
            let a = addr(&a)?;
            let r = async {
                let n = net()?;
                if add { n.addr_add(&name, &a).await } else { n.addr_del(&name, &a).await }
            }
            .await;
            ret(&lua, r.map(|()| true))
        })?;
    }
    for (fname, add) in [("net_route_add", true), ("net_route_del", false)] {
        def_async(lua, core, fname, move |lua, (t, Text(dev)): (Table, Text)| async move {
            let r = route_of(fname, &t)?;
            let res = async {
                let n = net()?;
                if add { n.route_add(&r, &dev).await } else { n.route_del(&r, &dev).await }
            }
            .await;
            ret(&lua, res.map(|()| true))
        })?;
    }
    def(lua, core, "net_tap_add", |lua, t: Table| {
        super::spec::check("net_tap_add", &t, &TAP)?;
        let spec = TapSpec {
            name: super::text_field("net_tap_add", &t, "name")?,
            owner: super::text_field("net_tap_add", &t, "user")?.map(|u| uid_of(&u)).transpose()?,
            group: super::text_field("net_tap_add", &t, "group")?.map(|g| gid_of(&g)).transpose()?,
            persist: t.get::<Option<bool>>("persist")?.unwrap_or(true),
        };
        ret(lua, tap::add(&spec))
    })?;
    def(lua, core, "net_tap_del", |lua, Text(name): Text| ret(lua, tap::del(&name).map(|()| true)))?;
    def(lua, core, "ethtool_wol_get", |lua, Text(iface): Text| match ethtool::wol_get(&iface) {
        Ok(w) => lua.create_table_from([("supported", w.supported.to_string()), ("enabled", w.enabled.to_string())])?.into_lua_multi(lua),
        Err(e) => failure(lua, e),
    })?;
    def(lua, core, "ethtool_wol_set", |lua, (Text(iface), Text(modes)): (Text, Text)| {
        let modes: Modes = modes.parse().map_err(|e| mlua::Error::runtime(format!("ctys.core.ethtool_wol_set: bad argument 'modes': {e}")))?;
        ret(lua, ethtool::wol_set(&iface, modes).map(|()| true))
    })?;
    Ok(())
}
