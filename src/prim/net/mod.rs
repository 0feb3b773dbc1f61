//! Links, bridges, addresses and routes over rtnetlink; TAP devices through the TUN ioctls
//! (`tap.rs`), which netlink cannot create. Kernel errors become messages that say what to do:
//! EPERM → "needs CAP_NET_ADMIN", EEXIST and ENODEV name the device.
pub mod ifname;
pub mod tap;

use std::net::IpAddr;

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, RouteMessageBuilder};

pub use super::failure::{Failure as NetError, Kind as ErrorKind};

/// An errno from the kernel, in words for `what` (e.g. "add bridge ctysbr0").
pub fn errno_error(what: &str, errno: i32) -> NetError {
    let (kind, why) = match errno {
        nix::libc::EPERM | nix::libc::EACCES => (ErrorKind::Permission, "needs CAP_NET_ADMIN (run as root)".to_string()),
        nix::libc::EEXIST => (ErrorKind::Exists, "it exists already".to_string()),
        nix::libc::ENODEV => (ErrorKind::NoDevice, "no such device".to_string()),
        e => (ErrorKind::Other, nix::Error::from_raw(e).desc().to_string()),
    };
    NetError { kind, message: format!("{what}: {why}") }
}

/// Refuses a name the kernel would not accept, before it reaches netlink.
fn check_name(name: &str) -> Result<(), NetError> {
    if ifname::valid(name) {
        Ok(())
    } else {
        Err(NetError { kind: ErrorKind::Invalid, message: ifname::refusal(name) })
    }
}

fn nl_error(what: &str, e: rtnetlink::Error) -> NetError {
    match e {
        rtnetlink::Error::NetlinkError(m) => errno_error(what, m.raw_code().abs()),
        e => NetError { kind: ErrorKind::Other, message: format!("{what}: {e}") },
    }
}

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ip: IpAddr,
    pub prefix: u8,
}

/// A link as `ip link` shows it, with its addresses.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `bridge`, `tun`, `veth`, ... (None for plain devices).
    pub kind: Option<String>,
    pub up: bool,
    /// Index of the bridge (or other controller) this link is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub addrs: Vec<Addr>,
}

/// A route, as much as moving it between devices needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: Option<Addr>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub metric: Option<u32>,
    /// `kernel` for the routes the kernel derives from addresses, `boot`, `static`, `dhcp`, ...
    pub protocol: String,
    pub scope: String,
    pub table: u32,
}

/// What `link_set` changes; `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub struct LinkChange {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    /// `Some(Some(bridge))` enslaves, `Some(None)` releases.
    pub master: Option<Option<String>>,
}

fn mac_text(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

fn kind_name(k: &InfoKind) -> String {
    match k {
        InfoKind::Bridge => "bridge".into(),
        InfoKind::Tun => "tun".into(),
        InfoKind::Veth => "veth".into(),
        InfoKind::Dummy => "dummy".into(),
        InfoKind::Vlan => "vlan".into(),
        InfoKind::Bond => "bond".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn link_of(m: LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        kind: None,
        up: m.header.flags.contains(LinkFlags::Up),
        master: None,
        mac: None,
        mtu: None,
        addrs: Vec::new(),
    };
    for a in m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n,
            LinkAttribute::Address(b) => l.mac = Some(mac_text(&b)),
            LinkAttribute::Mtu(v) => l.mtu = Some(v),
            LinkAttribute::Controller(i) => l.master = Some(i),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        l.kind = Some(kind_name(&k));
                    }
                }
            }
            _ => {}
        }
    }
    l
}

fn route_of(m: RouteMessage) -> Route {
    let h = &m.header;
    let mut r = Route {
        dst: None,
        gateway: None,
        oif: None,
        metric: None,
        protocol: format!("{:?}", h.protocol).to_lowercase(),
        scope: format!("{:?}", h.scope).to_lowercase(),
        table: u32::from(h.table),
    };
    let ip = |a: &RouteAddress| match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => r.dst = ip(d).map(|ip| Addr { ip, prefix: h.destination_prefix_length }),
            RouteAttribute::Gateway(g) => r.gateway = ip(g),
            RouteAttribute::Oif(i) => r.oif = Some(*i),
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::Table(t) => r.table = *t,
            _ => {}
        }
    }
    if r.dst.is_none() {
        // A default route: 0.0.0.0/0 or ::/0.
        let any: IpAddr = if h.address_family == AddressFamily::Inet6 { std::net::Ipv6Addr::UNSPECIFIED.into() } else { std::net::Ipv4Addr::UNSPECIFIED.into() };
        r.dst = Some(Addr { ip: any, prefix: 0 });
    }
    r
}

/// A netlink connection. Must be made inside a tokio runtime (its socket task runs there).
/// One entry of the kernel's neighbour table (ARP for IPv4, NDP for IPv6).
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub ip: IpAddr,
    /// aa:bb:cc:dd:ee:ff, when the entry has a 6-byte link-layer address.
    pub mac: Option<String>,
    pub ifindex: u32,
    /// reachable, stale, delay, probe, failed, incomplete, noarp, permanent, none.
    pub state: String,
}

#[derive(Clone)]
pub struct Net {
    handle: Handle,
}

impl Net {
    pub fn connect() -> Result<Net, NetError> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| NetError { kind: ErrorKind::Other, message: format!("cannot open a netlink socket: {e}") })?;
        tokio::spawn(conn);
        Ok(Net { handle })
    }

    /// Every link with its addresses, by index.
    pub async fn links(&self) -> Result<Vec<Link>, NetError> {
        let mut links: Vec<Link> = self.handle.link().get().execute().map_ok(link_of).try_collect().await.map_err(|e| nl_error("list links", e))?;
        let mut addrs = self.handle.address().get().execute();
        while let Some(m) = addrs.try_next().await.map_err(|e| nl_error("list addresses", e))? {
            let ip = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            });
            // IPv4 point-to-point links report the peer as Address; Local is ours.
            let local = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            if let (Some(ip), Some(l)) = (local.or(ip), links.iter_mut().find(|l| l.index == m.header.index)) {
                l.addrs.push(Addr { ip, prefix: m.header.prefix_len });
            }
        }
        links.sort_by_key(|l| l.index);
        Ok(links)
    }

    /// The neighbour table, every family.
    pub async fn neighbours(&self) -> Result<Vec<Neighbour>, NetError> {
        let mut s = self.handle.neighbours().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.try_next().await.map_err(|e| nl_error("list neighbours", e))? {
            let ip = m.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
                _ => None,
            });
            let mac = m.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::LinkLayerAddress(b) if b.len() == 6 => Some(b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")),
                _ => None,
            });
            if let Some(ip) = ip {
                out.push(Neighbour { ip, mac, ifindex: m.header.ifindex, state: format!("{:?}", m.header.state).to_lowercase() });
            }
        }
        Ok(out)
    }

    /// One link by name.
    pub async fn link(&self, name: &str) -> Result<Option<Link>, NetError> {
        Ok(self.links().await?.into_iter().find(|l| l.name == name))
    }

    async fn index(&self, name: &str, what: &str) -> Result<u32, NetError> {
        check_name(name)?;
        let mut s = self.handle.link().get().match_name(name.to_string()).execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(m.header.index),
            Ok(None) => Err(errno_error(&format!("{what}: {name}"), nix::libc::ENODEV)),
            Err(e) => Err(nl_error(&format!("{what}: {name}"), e)),
        }
    }

    pub async fn bridge_add(&self, name: &str) -> Result<(), NetError> {
        check_name(name)?;
        self.handle.link().add(LinkBridge::new(name).build()).execute().await.map_err(|e| nl_error(&format!("add bridge {name}"), e))
    }

    pub async fn link_del(&self, name: &str) -> Result<(), NetError> {
        let i = self.index(name, "delete link").await?;
        self.handle.link().del(i).execute().await.map_err(|e| nl_error(&format!("delete link {name}"), e))
    }

    /// Deletes many links at once: they join a link group no other link is in, and the group
    /// goes in one request, so the kernel waits for one RCU grace period instead of one per
    /// link (~20 ms each). Works for persistent TAPs too.
    pub async fn links_del(&self, names: &[String]) -> Result<(), NetError> {
        if names.is_empty() {
            return Ok(());
        }
        for n in names {
            check_name(n)?;
        }
        // One dump gives the indexes and the groups in use.
        let mut used = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.try_next().await.map_err(|e| nl_error("list links", e))? {
            for a in &m.attributes {
                match a {
                    LinkAttribute::Group(g) => used.push(*g),
                    LinkAttribute::IfName(n) => {
                        index.insert(n.clone(), m.header.index);
                    }
                    _ => {}
                }
            }
        }
        let group = (0x6374_0000u32..).find(|g| !used.contains(g)).expect("a free link group");
        for n in names {
            let i = *index.get(n).ok_or_else(|| errno_error(&format!("delete link {n}"), nix::libc::ENODEV))?;
            let msg = LinkUnspec::new_with_index(i).link_group(group).build();
            self.handle.link().set(msg).execute().await.map_err(|e| nl_error(&format!("delete link {n}"), e))?;
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Group(group));
        self.handle.link().del_with_message(msg).execute().await.map_err(|e| nl_error(&format!("delete links {}", names.join(" ")), e))
    }

    pub async fn link_set(&self, name: &str, c: &LinkChange) -> Result<(), NetError> {
        let what = format!("set link {name}");
        let i = self.index(name, "set link").await?;
        let mut b = LinkUnspec::new_with_index(i);
        if let Some(mtu) = c.mtu {
            b = b.mtu(mtu);
        }
        match &c.master {
            Some(Some(br)) => b = b.controller(self.index(br, &format!("enslave {name} to")).await?),
            Some(None) => b = b.nocontroller(),
            None => {}
        }
        b = match c.up {
            Some(true) => b.up(),
            Some(false) => b.down(),
            None => b,
        };
        self.handle.link().set(b.build()).execute().await.map_err(|e| nl_error(&what, e))
    }

    pub async fn addr_add(&self, name: &str, a: &Addr) -> Result<(), NetError> {
        let what = format!("add address {}/{} to {name}", a.ip, a.prefix);
        let i = self.index(name, "add address to").await?;
        self.handle.address().add(i, a.ip, a.prefix).execute().await.map_err(|e| nl_error(&what, e))
    }

    pub async fn addr_del(&self, name: &str, a: &Addr) -> Result<(), NetError> {
        let what = format!("delete address {}/{} from {name}", a.ip, a.prefix);
        let i = self.index(name, "delete address from").await?;
        let mut s = self.handle.address().get().set_link_index_filter(i).execute();
        while let Some(m) = s.try_next().await.map_err(|e| nl_error(&what, e))? {
            let hit = m.header.prefix_len == a.prefix
                && m.attributes.iter().any(|x| matches!(x, AddressAttribute::Address(ip) | AddressAttribute::Local(ip) if *ip == a.ip));
            if hit {
                return self.handle.address().del(m).execute().await.map_err(|e| nl_error(&what, e));
            }
        }
        Err(NetError { kind: ErrorKind::NoDevice, message: format!("{what}: {name} has no such address") })
    }

    /// The routes of the main table (IPv4 and IPv6).
    pub async fn routes(&self) -> Result<Vec<Route>, NetError> {
        let mut out = Vec::new();
        for msg in [RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(), RouteMessageBuilder::<std::net::Ipv6Addr>::new().build()] {
            let mut s = self.handle.route().get(msg).execute();
            while let Some(m) = s.try_next().await.map_err(|e| nl_error("list routes", e))? {
                let r = route_of(m);
                if r.table == u32::from(rtnetlink::packet_route::route::RouteHeader::RT_TABLE_MAIN) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    fn route_message(&self, r: &Route, oif: u32) -> Result<RouteMessage, NetError> {
        let dst = r.dst.clone().ok_or_else(|| NetError { kind: ErrorKind::Other, message: "a route needs a destination".into() })?;
        let mut m = match dst.ip {
            IpAddr::V4(v4) => {
                let mut b = RouteMessageBuilder::<std::net::Ipv4Addr>::new().destination_prefix(v4, dst.prefix).output_interface(oif);
                if let Some(IpAddr::V4(g)) = r.gateway {
                    b = b.gateway(g);
                }
                b.build()
            }
            IpAddr::V6(v6) => {
                let mut b = RouteMessageBuilder::<std::net::Ipv6Addr>::new().destination_prefix(v6, dst.prefix).output_interface(oif);
                if let Some(IpAddr::V6(g)) = r.gateway {
                    b = b.gateway(g);
                }
                b.build()
            }
        };
        if let Some(p) = r.metric {
            m.attributes.push(RouteAttribute::Priority(p));
        }
        m.header.protocol = match r.protocol.as_str() {
            "boot" => RouteProtocol::Boot,
            "dhcp" => RouteProtocol::Dhcp,
            "ra" => RouteProtocol::Ra,
            _ => RouteProtocol::Static,
        };
        if r.gateway.is_none() {
            m.header.scope = RouteScope::Link;
        }
        Ok(m)
    }

    /// Adds a route through the named device (its gateway, metric and protocol kept).
    pub async fn route_add(&self, r: &Route, dev: &str) -> Result<(), NetError> {
        let oif = self.index(dev, "add route via").await?;
        let what = format!("add route {} via {dev}", route_text(r));
        self.handle.route().add(self.route_message(r, oif)?).execute().await.map_err(|e| nl_error(&what, e))
    }

    /// Deletes a route through the named device.
    pub async fn route_del(&self, r: &Route, dev: &str) -> Result<(), NetError> {
        let oif = self.index(dev, "delete route via").await?;
        let what = format!("delete route {} via {dev}", route_text(r));
        self.handle.route().del(self.route_message(r, oif)?).execute().await.map_err(|e| nl_error(&what, e))
    }
}

fn route_text(r: &Route) -> String {
    let dst = r.dst.as_ref().map_or("default".to_string(), |d| format!("{}/{}", d.ip, d.prefix));
    match r.gateway {
        Some(g) => format!("{dst} gw {g}"),
        None => dst,
    }
}
