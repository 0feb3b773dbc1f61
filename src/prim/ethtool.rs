//! Wake-on-LAN settings of a NIC through the SIOCETHTOOL ioctl (ETHTOOL_GWOL, ETHTOOL_SWOL):
//! what `ethtool IF` shows as "Supports Wake-on" / "Wake-on" and `ethtool -s IF wol g` sets.
use std::fmt;
use std::os::fd::AsRawFd;
use std::str::FromStr;

use nix::libc;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

const ETHTOOL_GWOL: u32 = 0x5;
const ETHTOOL_SWOL: u32 = 0x6;

/// The WAKE_* bits with ethtool's letters, in the order ethtool prints them.
const LETTERS: [(u32, char); 8] = [
    (1 << 0, 'p'), // PHY activity
    (1 << 1, 'u'), // unicast
    (1 << 2, 'm'), // multicast
    (1 << 3, 'b'), // broadcast
    (1 << 4, 'a'), // ARP
    (1 << 5, 'g'), // magic packet
    (1 << 6, 's'), // magic packet with SecureOn password
    (1 << 7, 'f'), // filters
];

/// `struct ethtool_wolinfo` of <linux/ethtool.h>.
#[repr(C)]
#[derive(Default)]
struct WolInfoRaw {
    cmd: u32,
    supported: u32,
    wolopts: u32,
    sopass: [u8; 6],
}

/// A set of wake-up modes (WAKE_* bits), written as ethtool's letters: "pumbg", "d" for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modes(pub u32);

impl Modes {
    pub const NONE: Modes = Modes(0);
    pub const MAGIC: Modes = Modes(1 << 5);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The modes of `self` that are not in `other`.
    pub fn minus(self, other: Modes) -> Modes {
        Modes(self.0 & !other.0)
    }
}

impl fmt::Display for Modes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = LETTERS.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, c)| *c).collect();
        f.write_str(if s.is_empty() { "d" } else { &s })
    }
}

impl FromStr for Modes {
    type Err = String;

    /// Letters of "pumbagsf" in any order, or "d" alone for none.
    fn from_str(s: &str) -> Result<Modes, String> {
        if s == "d" {
            return Ok(Modes::NONE);
        }
        if s.is_empty() {
            return Err("no wake-up modes given (\"d\" disables Wake-on-LAN)".into());
        }
        let mut bits = 0;
        for c in s.chars() {
            match LETTERS.iter().find(|(_, l)| *l == c) {
                Some((bit, _)) => bits |= bit,
                None => return Err(format!("{s:?} is not a set of wake-up modes (letters of pumbagsf, or d alone)")),
            }
        }
        Ok(Modes(bits))
    }
}

/// What a NIC can wake on and what it is armed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WolInfo {
    pub supported: Modes,
    pub enabled: Modes,
}

pub use super::failure::{Failure as EthtoolError, Kind as ErrorKind};

fn err(kind: ErrorKind, message: String) -> EthtoolError {
    EthtoolError { kind, message }
}

fn ifreq(iface: &str) -> Result<libc::ifreq, EthtoolError> {
    use super::net::ifname;
    ifname::ifreq(iface).ok_or_else(|| err(ErrorKind::Other, ifname::refusal(iface)))
}

/// One SIOCETHTOOL WOL call; `info.cmd` says which.
fn ioctl(iface: &str, info: &mut WolInfoRaw) -> Result<(), EthtoolError> {
    let cmd = if info.cmd == ETHTOOL_SWOL { "SWOL" } else { "GWOL" };
    let mut r = ifreq(iface)?;
    let sock = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| err(ErrorKind::Other, format!("{iface}: socket for the ethtool ioctl: {}", e.desc())))?;
    r.ifr_ifru.ifru_data = info as *mut WolInfoRaw as *mut libc::c_char;
    // SAFETY: r is a valid ifreq whose ifru_data points at a live ethtool_wolinfo, which is
    // what SIOCETHTOOL with ETHTOOL_GWOL/SWOL reads and writes.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL as _, &mut r as *mut libc::ifreq) } == 0 {
        return Ok(());
    }
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let desc = nix::Error::from_raw(errno).desc();
    Err(match errno {
        // strerror's wording; nix describes this errno as ENOTSUP's "... on transport endpoint".
        libc::EOPNOTSUPP => {
            err(ErrorKind::NotSupported, format!("{iface}: the driver does not support Wake-on-LAN (ethtool {cmd} ioctl: Operation not supported)"))
        }
        libc::ENODEV => err(ErrorKind::NoDevice, format!("{iface}: no such interface")),
        libc::EPERM | libc::EACCES => err(ErrorKind::Permission, format!("{iface}: Wake-on-LAN settings need CAP_NET_ADMIN (run as root)")),
        _ => err(ErrorKind::Other, format!("{iface}: ethtool {cmd} ioctl: {desc}")),
    })
}

fn get_raw(iface: &str) -> Result<WolInfoRaw, EthtoolError> {
    let mut info = WolInfoRaw { cmd: ETHTOOL_GWOL, ..Default::default() };
    ioctl(iface, &mut info)?;
    Ok(info)
}

/// The supported and enabled wake-up modes of `iface` (`ethtool IF`).
pub fn wol_get(iface: &str) -> Result<WolInfo, EthtoolError> {
    let info = get_raw(iface)?;
    Ok(WolInfo { supported: Modes(info.supported), enabled: Modes(info.wolopts) })
}

fn refuse_unsupported(iface: &str, supported: Modes, modes: Modes) -> Result<(), EthtoolError> {
    let missing = modes.minus(supported);
    if missing.is_empty() {
        return Ok(());
    }
    let has = if supported.is_empty() { "no wake-up modes".to_string() } else { format!("wake-up modes {supported}") };
    Err(err(ErrorKind::UnsupportedMode, format!("{iface} supports {has}, not {missing}")))
}

/// Arms `iface` for exactly `modes` (`ethtool -s IF wol MODES`); `Modes::NONE` disarms it.
/// Modes the driver does not list as supported are refused before anything is set.
pub fn wol_set(iface: &str, modes: Modes) -> Result<(), EthtoolError> {
    let cur = get_raw(iface)?;
    refuse_unsupported(iface, Modes(cur.supported), modes)?;
    // The SecureOn password stays as the driver has it, as with ethtool without `sopass`.
    let mut info = WolInfoRaw { cmd: ETHTOOL_SWOL, supported: 0, wolopts: modes.0, sopass: cur.sopass };
    ioctl(iface, &mut info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_letters_round_trip() {
        for bits in 0..=0xffu32 {
            let m = Modes(bits);
            assert_eq!(m.to_string().parse::<Modes>(), Ok(m), "{bits:#x}");
        }
        assert_eq!("pumbg".parse::<Modes>(), Ok(Modes(0b10_1111)));
        assert_eq!("gp".parse::<Modes>().map(|m| m.to_string()), Ok("pg".into()));
        assert_eq!(Modes::MAGIC.to_string(), "g");
        assert_eq!(Modes::NONE.to_string(), "d");
        assert_eq!(Modes(1 << 6).to_string(), "s");
        for bad in ["", "x", "dg", "G", "g ", "é"] {
            assert!(bad.parse::<Modes>().is_err(), "{bad:?}");
        }
        assert_eq!(Modes(0b10_1111).minus(Modes::MAGIC), Modes(0b1111));
    }

    #[test]
    fn unsupported_modes_are_refused() {
        let pumbg: Modes = "pumbg".parse().unwrap();
        assert_eq!(refuse_unsupported("eth0", pumbg, Modes::MAGIC), Ok(()));
        assert_eq!(refuse_unsupported("eth0", pumbg, Modes::NONE), Ok(()));
        let e = refuse_unsupported("eth0", pumbg, "gs".parse().unwrap()).unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::UnsupportedMode, "eth0 supports wake-up modes pumbg, not s"));
        let e = refuse_unsupported("eth0", Modes::NONE, Modes::MAGIC).unwrap_err();
        assert_eq!(e.message, "eth0 supports no wake-up modes, not g");
    }

    #[test]
    fn bad_names_are_refused_before_any_ioctl() {
        for bad in ["", "a/b", "abcdefghijklmnopqrst", "a b", "a\0", "0123456789abcdef"] {
            let e = wol_get(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Other, "{bad:?}");
            assert!(e.message.contains(&format!("{bad:?}")), "{bad:?}: {}", e.message);
        }
        assert!(ifreq("0123456789abcde").is_ok());
    }
}
