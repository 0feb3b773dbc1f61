//! Is a machine up? ICMP echo (an unprivileged ping socket where the kernel allows one, else a
//! raw socket, which needs CAP_NET_RAW) and a TCP connect that can insist on an SSH banner.
//! Nothing shells out to `ping`.
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{recvfrom, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrStorage};
use nix::sys::time::TimeVal;

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn icmp_socket(v6: bool) -> Result<(OwnedFd, bool), String> {
    let (fam, proto) = if v6 { (AddressFamily::Inet6, SockProtocol::IcmpV6) } else { (AddressFamily::Inet, SockProtocol::Icmp) };
    match socket(fam, SockType::Datagram, SockFlag::SOCK_CLOEXEC, proto) {
        Ok(fd) => Ok((fd, false)),
        Err(_) => socket(fam, SockType::Raw, SockFlag::SOCK_CLOEXEC, proto).map(|fd| (fd, true)).map_err(|e| match e {
            nix::Error::EPERM | nix::Error::EACCES => {
                "ICMP needs an unprivileged ping socket (sysctl net.ipv4.ping_group_range) or CAP_NET_RAW".to_string()
            }
            e => format!("cannot open an ICMP socket: {e}"),
        }),
    }
}

/// Sends one ICMP echo request and waits up to `timeout` for its reply; returns the round trip.
pub fn ping(addr: IpAddr, seq: u16, timeout: Duration) -> Result<Duration, String> {
    let v6 = addr.is_ipv6();
    let (fd, raw) = icmp_socket(v6)?;
    let ident = (std::process::id() as u16) ^ 0x5c75;
    let mut pkt = [0u8; 24];
    pkt[0] = if v6 { 128 } else { 8 };
    pkt[4..6].copy_from_slice(&ident.to_be_bytes());
    pkt[6..8].copy_from_slice(&seq.to_be_bytes());
    pkt[8..16].copy_from_slice(b"ctys-png");
    if !v6 {
        // The kernel fills in ICMPv6 checksums; ICMPv4 on a raw socket needs ours.
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    let dest = SockaddrStorage::from(SocketAddr::new(addr, 0));
    let started = Instant::now();
    sendto(fd.as_raw_fd(), &pkt, &dest, MsgFlags::empty()).map_err(|e| match e {
        nix::Error::ENETUNREACH | nix::Error::EHOSTUNREACH => format!("{addr}: no route"),
        e => format!("{addr}: cannot send an ICMP echo: {e}"),
    })?;
    let mut buf = [0u8; 1500];
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("{addr}: no ICMP echo reply within {} s", timeout.as_secs_f64()));
        }
        let tv = TimeVal::new(left.as_secs() as _, left.subsec_micros().max(1) as _);
        setsockopt(&fd, sockopt::ReceiveTimeout, &tv).map_err(|e| format!("{addr}: {e}"))?;
        let (n, from) = match recvfrom::<SockaddrStorage>(fd.as_raw_fd(), &mut buf) {
            Ok(r) => r,
            Err(nix::Error::EAGAIN) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(format!("{addr}: {e}")),
        };
        let from_ip = from.and_then(|f| f.as_sockaddr_in().map(|s| IpAddr::from(s.ip())).or_else(|| f.as_sockaddr_in6().map(|s| IpAddr::from(s.ip()))));
        if from_ip == Some(addr) && echo_reply(&buf[..n], raw, v6, ident, seq) {
            return Ok(started.elapsed());
        }
    }
}

/// Whether a received datagram is the echo reply to our request: what an ICMP socket hands
/// over (on a raw IPv4 socket, the IP header first), the reply type, our sequence number and,
/// on a raw socket, our identifier (a ping socket rewrites it).
pub fn echo_reply(packet: &[u8], raw: bool, v6: bool, ident: u16, seq: u16) -> bool {
    let off = if raw && !v6 { packet.first().map_or(0, |b| usize::from(b & 0x0f) * 4) } else { 0 };
    let Some(icmp) = packet.get(off..) else { return false };
    let want_type = if v6 { 129 } else { 0 };
    let id_ok = !raw || icmp.get(4..6) == Some(&ident.to_be_bytes()[..]);
    icmp.len() >= 8 && icmp[0] == want_type && id_ok && icmp[6..8] == seq.to_be_bytes()
}

/// Connects to `addr:port` within `timeout`; with `ssh_banner`, also waits for a line that
/// starts with `SSH-`. Returns the time it took.
pub fn tcp(addr: SocketAddr, timeout: Duration, ssh_banner: bool) -> Result<Duration, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    if ssh_banner {
        let left = timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        s.set_read_timeout(Some(left)).map_err(|e| format!("{addr}: {e}"))?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).map_err(|e| format!("{addr}: no SSH banner: {e}"))?;
        if &buf != b"SSH-" {
            return Err(format!("{addr}: answers, but not with an SSH banner"));
        }
    }
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request() {
        // An all-zero echo request with type 8: checksum 0xf7ff.
        let mut p = [0u8; 8];
        p[0] = 8;
        assert_eq!(checksum(&p), 0xf7ff);
        assert_eq!(checksum(&[0xff]), 0x00ff);
    }

    #[test]
    fn tcp_probe_on_loopback() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        assert!(tcp(a, Duration::from_secs(2), false).is_ok());
        // A listener that never speaks is no SSH server.
        assert!(tcp(a, Duration::from_millis(300), true).unwrap_err().contains("no SSH banner"));
        drop(l);
        assert!(tcp(a, Duration::from_secs(1), false).is_err());
    }

    #[test]
    fn ping_loopback() {
        match ping("127.0.0.1".parse().unwrap(), 1, Duration::from_secs(2)) {
            Ok(_) => {}
            Err(e) => assert!(e.contains("CAP_NET_RAW"), "{e}"),
        }
    }
}
