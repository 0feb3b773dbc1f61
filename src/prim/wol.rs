//! Wake-on-LAN magic packets: 6 × 0xFF, 16 × the target MAC, optionally a SecureOn password
//! of 4 or 6 bytes. Sent as UDP (unicast, directed broadcast, or the limited broadcast bound to
//! an interface with SO_BINDTODEVICE so no default route is needed), or as a raw Ethernet frame
//! with EtherType 0x0842 (etherwake's format). Batches reuse one socket and fixed buffers.
use std::io::IoSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{sendmmsg, sendmsg, setsockopt, sockopt, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
use pnet::datalink::{self, Channel, DataLinkSender, NetworkInterface};

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

/// The Ethernet broadcast address.
pub const BROADCAST: Mac = Mac([0xff; 6]);

/// EtherType of a raw magic packet.
pub const ETHERTYPE_WOL: u16 = 0x0842;

fn hex_groups(s: &str, sep: char, n: usize, width: std::ops::RangeInclusive<usize>) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() != n || parts.iter().any(|p| !width.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    let hex: String = parts.iter().map(|p| format!("{p:0>w$}", w = width.end())).collect();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`) without allocating: the common spelling of a batch.
fn parse_canonical(s: &[u8]) -> Option<Mac> {
    if s.len() != 17 || !(s[2] == b':' || s[2] == b'-') {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, byte) in m.iter_mut().enumerate() {
        let at = i * 3;
        if i > 0 && s[at - 1] != s[2] {
            return None;
        }
        *byte = hex_digit(s[at])? << 4 | hex_digit(s[at + 1])?;
    }
    Some(Mac(m))
}

impl Mac {
    /// Reads `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` or `aabbccddeeff`.
    pub fn parse(s: &str) -> Result<Mac, String> {
        if let Some(m) = parse_canonical(s.as_bytes()) {
            return Ok(m);
        }
        let bytes = hex_groups(s, ':', 6, 1..=2)
            .or_else(|| hex_groups(s, '-', 6, 1..=2))
            .or_else(|| hex_groups(s, '.', 3, 4..=4))
            .or_else(|| hex_groups(s, '\u{0}', 1, 12..=12));
        match bytes {
            Some(b) if b.len() == 6 => Ok(Mac(b.try_into().expect("six bytes"))),
            _ => Err(format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-.., aabb.ccdd.eeff or 12 hex digits)")),
        }
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// A SecureOn password: 4 bytes (written `a.b.c.d`) or 6 (written like a MAC), as etherwake -p.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Password {
    #[default]
    None,
    Four([u8; 4]),
    Six([u8; 6]),
}

impl Password {
    pub fn parse(s: &str) -> Result<Password, String> {
        if let Ok(v4) = s.parse::<Ipv4Addr>() {
            return Ok(Password::Four(v4.octets()));
        }
        Mac::parse(s).map(|m| Password::Six(m.0)).map_err(|_| "the SecureOn password is neither a.b.c.d (4 bytes) nor a.b:c:d:e:f-style 6 bytes".to_string())
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Password::None => &[],
            Password::Four(b) => b,
            Password::Six(b) => b,
        }
    }
}

/// The longest payload: 102 bytes plus a 6-byte password.
pub const MAX_PAYLOAD: usize = 108;

/// Where the SecureOn password starts in a payload (after six 0xff and sixteen copies of the MAC).
pub const PASSWORD_AT: usize = 102;

/// The Ethernet header of a raw frame: destination, source, EtherType.
pub const HEADER_LEN: usize = 14;

/// Writes the magic payload into `buf` and returns its length (102, 106 or 108).
pub fn write_payload(buf: &mut [u8; MAX_PAYLOAD], mac: Mac, pw: Password) -> usize {
    buf[..6].fill(0xff);
    for i in 0..16 {
        buf[6 + i * 6..12 + i * 6].copy_from_slice(&mac.0);
    }
    let pw = pw.bytes();
    buf[PASSWORD_AT..PASSWORD_AT + pw.len()].copy_from_slice(pw);
    PASSWORD_AT + pw.len()
}

/// The magic payload as a vector.
pub fn payload(mac: Mac, pw: Password) -> Vec<u8> {
    let mut buf = [0u8; MAX_PAYLOAD];
    let n = write_payload(&mut buf, mac, pw);
    buf[..n].to_vec()
}

fn io_err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// A UDP socket ready to send magic packets to `dest`, bound to `iface` when given
/// (SO_BINDTODEVICE, which makes 255.255.255.255 leave through it without a default route).
pub fn udp_socket(dest: &SocketAddr, iface: Option<&str>) -> Result<UdpSocket, String> {
    let any: IpAddr = if dest.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
    let sock = UdpSocket::bind((any, 0)).map_err(|e| io_err("cannot open a UDP socket", e))?;
    sock.set_broadcast(true).map_err(|e| io_err("cannot allow broadcast", e))?;
    if let Some(ifname) = iface {
        setsockopt(&sock, sockopt::BindToDevice, &std::ffi::OsString::from(ifname)).map_err(|e| match e {
            nix::Error::EPERM => format!("binding to interface {ifname} needs CAP_NET_RAW (run as root)"),
            nix::Error::ENODEV => format!("no interface named {ifname}"),
            e => io_err(&format!("cannot bind to interface {ifname}"), e),
        })?;
    }
    Ok(sock)
}

fn send_error(dest: &SocketAddr, e: std::io::Error) -> String {
    match e.raw_os_error() {
        Some(nix::libc::ENETUNREACH) => format!("{dest}: network is unreachable (no route; for 255.255.255.255 name an interface)"),
        Some(nix::libc::EACCES) => format!("{dest}: permission denied (a broadcast address needs SO_BROADCAST)"),
        _ => io_err(&dest.to_string(), e),
    }
}

/// Sends one magic packet over UDP.
pub fn send_udp(sock: &UdpSocket, dest: &SocketAddr, mac: Mac, pw: Password) -> Result<(), String> {
    let mut buf = [0u8; MAX_PAYLOAD];
    let n = write_payload(&mut buf, mac, pw);
    sock.send_to(&buf[..n], dest).map(|_| ()).map_err(|e| send_error(dest, e))
}

/// How many packets one call carries (UDP GSO allows 64 segments per send everywhere).
const BATCH: usize = 64;

/// Sends one magic packet per MAC over UDP and returns how many were sent: sendmmsg, BATCH
/// datagrams per system call, no allocation per packet. With `gso`, UDP segmentation offload
/// (UDP_SEGMENT) carries BATCH of them through the stack as one buffer, cut into identical
/// datagrams where the packets leave for a real NIC; about ten times cheaper, but a virtual
/// link (veth) may hand the uncut buffer to the other side, where a capture sees one large
/// datagram. Where the kernel refuses GSO, sendmmsg takes over.
pub fn send_udp_many(sock: &UdpSocket, dest: &SocketAddr, macs: &[Mac], pw: Password, gso: bool) -> Result<usize, String> {
    let mut bufs = [[0u8; MAX_PAYLOAD]; BATCH];
    let mut flat = if gso { vec![0u8; MAX_PAYLOAD * BATCH] } else { Vec::new() };
    let addr = SockaddrStorage::from(*dest);
    let mut gso = gso;
    let mut sent = 0;
    for chunk in macs.chunks(BATCH) {
        let mut len = 0;
        for (buf, mac) in bufs.iter_mut().zip(chunk) {
            len = write_payload(buf, *mac, pw);
        }
        if gso {
            for (i, buf) in bufs[..chunk.len()].iter().enumerate() {
                flat[i * len..(i + 1) * len].copy_from_slice(&buf[..len]);
            }
            let seg = len as u16;
            let iov = [IoSlice::new(&flat[..chunk.len() * len])];
            match sendmsg(sock.as_raw_fd(), &iov, &[ControlMessage::UdpGsoSegments(&seg)], MsgFlags::empty(), Some(&addr)) {
                Ok(_) => {
                    sent += chunk.len();
                    continue;
                }
                // No UDP GSO on this kernel or route: send datagram by datagram from here on.
                Err(nix::Error::EINVAL | nix::Error::EOPNOTSUPP | nix::Error::EIO | nix::Error::ENOPROTOOPT) if sent == 0 => gso = false,
                Err(e) => return Err(send_error(dest, std::io::Error::from_raw_os_error(e as i32))),
            }
        }
        sent += sendmmsg_all(sock, dest, &addr, &bufs[..chunk.len()], len)?;
    }
    Ok(sent)
}

fn sendmmsg_all(sock: &UdpSocket, dest: &SocketAddr, addr: &SockaddrStorage, bufs: &[[u8; MAX_PAYLOAD]], len: usize) -> Result<usize, String> {
    let addrs = [Some(*addr); BATCH];
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(bufs.len(), None);
    let slices: Vec<[IoSlice; 1]> = bufs.iter().map(|b| [IoSlice::new(&b[..len])]).collect();
    let mut off = 0;
    while off < slices.len() {
        let res = sendmmsg(sock.as_raw_fd(), &mut headers, &slices[off..], &addrs[..slices.len() - off], [], MsgFlags::empty())
            .map_err(|e| send_error(dest, std::io::Error::from_raw_os_error(e as i32)))?;
        let n = res.count();
        if n == 0 {
            return Err(format!("{dest}: the kernel sent nothing"));
        }
        off += n;
    }
    Ok(off)
}

/// An interface for raw frames: the named one, else the first that is up, not loopback, and
/// has a MAC (the original ctys's choice).
pub fn interface(name: Option<&str>) -> Result<NetworkInterface, String> {
    let all = datalink::interfaces();
    match name {
        Some(n) => all.into_iter().find(|i| i.name == n).ok_or_else(|| format!("no interface named {n}")),
        None => all
            .into_iter()
            .find(|i| i.is_up() && !i.is_loopback() && i.mac.is_some_and(|m| m.octets() != [0; 6]))
            .ok_or_else(|| "no interface is up with a MAC address (name one)".to_string()),
    }
}

/// A raw Ethernet sender on one interface.
pub struct RawSender {
    tx: Box<dyn DataLinkSender>,
    src: [u8; 6],
    pub iface: String,
}

/// The longest frame: 14-byte header and the longest payload.
const MAX_FRAME: usize = HEADER_LEN + MAX_PAYLOAD;

fn write_frame(buf: &mut [u8], dst: Mac, src: [u8; 6], mac: Mac, pw: Password) -> usize {
    buf[..6].copy_from_slice(&dst.0);
    buf[6..12].copy_from_slice(&src);
    buf[12..HEADER_LEN].copy_from_slice(&ETHERTYPE_WOL.to_be_bytes());
    let mut p = [0u8; MAX_PAYLOAD];
    let n = write_payload(&mut p, mac, pw);
    buf[HEADER_LEN..HEADER_LEN + n].copy_from_slice(&p[..n]);
    HEADER_LEN + n
}

/// The raw frame a RawSender on an interface with MAC `src` puts on the wire for `mac`.
pub fn frame(dst: Mac, src: [u8; 6], mac: Mac, pw: Password) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME];
    let n = write_frame(&mut buf, dst, src, mac, pw);
    buf[..n].to_vec()
}

impl RawSender {
    /// Opens an AF_PACKET channel on the interface (needs CAP_NET_RAW).
    pub fn open(iface: &NetworkInterface) -> Result<RawSender, String> {
        let src = iface.mac.map(|m| m.octets()).ok_or_else(|| format!("interface {} has no MAC address", iface.name))?;
        let cfg = datalink::Config { read_timeout: Some(std::time::Duration::from_millis(1)), ..Default::default() };
        match datalink::channel(iface, cfg) {
            Ok(Channel::Ethernet(tx, _rx)) => Ok(RawSender { tx, src, iface: iface.name.clone() }),
            Ok(_) => Err(format!("interface {} is not Ethernet", iface.name)),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(format!("raw Ethernet on {} needs CAP_NET_RAW (run as root)", iface.name))
            }
            Err(e) => Err(io_err(&format!("cannot open a raw socket on {}", iface.name), e)),
        }
    }

    /// The frame that `send` would put on the wire.
    pub fn frame(&self, dst: Mac, mac: Mac, pw: Password) -> Vec<u8> {
        frame(dst, self.src, mac, pw)
    }

    /// Sends one frame to `dst` (the broadcast MAC, or the target's own as etherwake does).
    pub fn send(&mut self, dst: Mac, mac: Mac, pw: Password) -> Result<(), String> {
        let frame = self.frame(dst, mac, pw);
        match self.tx.send_to(&frame, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(io_err(&format!("sending on {}", self.iface), e)),
            None => Err(format!("sending on {}: the channel refused the frame", self.iface)),
        }
    }

    /// Sends one frame per MAC, built in place in the channel's buffer; `to_target` sends each
    /// to its own MAC instead of `dst`. Returns how many were sent.
    pub fn send_many(&mut self, dst: Mac, to_target: bool, macs: &[Mac], pw: Password) -> Result<usize, String> {
        let len = 14 + 102 + pw.bytes().len();
        let src = self.src;
        let mut next = macs.iter();
        for _ in 0..macs.len() {
            let mac = *next.next().expect("one MAC per frame");
            let d = if to_target { mac } else { dst };
            match self.tx.build_and_send(1, len, &mut |buf| {
                write_frame(buf, d, src, mac, pw);
            }) {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(io_err(&format!("sending on {}", self.iface), e)),
                None => return Err(format!("sending on {}: the channel refused the frame", self.iface)),
            }
        }
        Ok(macs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames captured from etherwake (reference/wol/vectors_onehex.txt).
    const ETHERWAKE_BCAST: &str = "ffffffffffff02000000000a0842ffffffffffff";
    const VA: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn macs_in_every_spelling() {
        let want = Mac([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        for s in ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "AABBCCDDEEFF"] {
            assert_eq!(Mac::parse(s).unwrap(), want, "{s}");
        }
        assert_eq!(Mac::parse("2:0:0:0:0:a").unwrap(), Mac(VA));
        for bad in ["zz:00", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aabb.ccdd", "aabbccddeef", "aa:bb-cc:dd:ee:ff", "", "aa:bb:cc:dd:ee:fff"] {
            assert!(Mac::parse(bad).unwrap_err().contains("is not a MAC address"), "{bad}");
        }
        assert_eq!(want.to_string(), "aa:bb:cc:dd:ee:ff");
    }

    #[test]
    fn frames_equal_etherwakes() {
        let mac = Mac::parse("AA:BB:CC:DD:EE:FF").unwrap();
        let mut buf = [0u8; MAX_FRAME];
        let n = write_frame(&mut buf, BROADCAST, VA, mac, Password::None);
        let want = format!("{ETHERWAKE_BCAST}{}", "aabbccddeeff".repeat(16));
        assert_eq!((n, hex(&buf[..n])), (116, want));
        // etherwake -p 192.168.1.2 (4 bytes) and -p 01:02:03:04:05:06 (6 bytes), to the target MAC.
        let n = write_frame(&mut buf, mac, VA, mac, Password::parse("192.168.1.2").unwrap());
        assert_eq!(hex(&buf[..n]), format!("aabbccddeeff02000000000a0842ffffffffffff{}c0a80102", "aabbccddeeff".repeat(16)));
        let n = write_frame(&mut buf, mac, VA, mac, Password::parse("01:02:03:04:05:06").unwrap());
        assert_eq!(n, 122);
        assert!(hex(&buf[..n]).ends_with("aabbccddeeff010203040506"));
    }

    #[test]
    fn payload_equals_wakeonlans() {
        // reference/wol/magic_payload_102.hex
        let p = payload(Mac([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]), Password::None);
        assert_eq!(hex(&p), format!("ffffffffffff{}", "aabbccddeeff".repeat(16)));
    }

    #[test]
    fn bad_passwords() {
        assert!(Password::parse("1.2.3").is_err());
        assert!(Password::parse("secret").is_err());
    }
}
