//! TAP devices through /dev/net/tun: TUNSETIFF creates one, TUNSETOWNER/TUNSETGROUP give it to
//! a user and group, TUNSETPERSIST keeps it after the descriptor closes (and 0 deletes it).
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;

use nix::libc;

use super::{errno_error, ErrorKind, NetError};

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// What a new TAP looks like.
#[derive(Debug, Clone, Default)]
pub struct TapSpec {
    /// The name, or a kernel-chosen `tapN` when None (a `%d` in the name works too).
    pub name: Option<String>,
    pub owner: Option<u32>,
    pub group: Option<u32>,
    pub persist: bool,
}

fn open_tun(what: &str) -> Result<std::fs::File, NetError> {
    OpenOptions::new().read(true).write(true).open("/dev/net/tun").map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => NetError { kind: ErrorKind::NoDevice, message: format!("{what}: /dev/net/tun is missing (modprobe tun)") },
        Some(errno) => errno_error(&format!("{what}: /dev/net/tun"), errno),
        None => NetError { kind: ErrorKind::Other, message: format!("{what}: {e}") },
    })
}

fn ifreq(name: &str, what: &str) -> Result<libc::ifreq, NetError> {
    let mut r = super::ifname::ifreq(name)
        .ok_or_else(|| NetError { kind: ErrorKind::Invalid, message: format!("{what}: {}", super::ifname::refusal(name)) })?;
    r.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI;
    Ok(r)
}

/// One ioctl; the errno when it fails.
fn ioctl_errno(fd: &std::fs::File, req: libc::c_ulong, arg: libc::c_ulong) -> Result<(), i32> {
    // SAFETY: the requests used here take an integer argument (or a pointer to a live ifreq).
    if unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) } < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

fn ioctl(fd: &std::fs::File, req: libc::c_ulong, arg: libc::c_ulong, what: &str) -> Result<(), NetError> {
    ioctl_errno(fd, req, arg).map_err(|errno| errno_error(what, errno))
}

/// Creates a TAP and returns its name.
pub fn add(spec: &TapSpec) -> Result<String, NetError> {
    let shown = spec.name.clone().unwrap_or_else(|| "tap%d".into());
    let what = format!("create TAP {shown}");
    // TUNSETIFF would silently attach to an existing persistent TAP of that name.
    if !shown.contains('%') && std::path::Path::new("/sys/class/net").join(&shown).exists() {
        return Err(errno_error(&what, libc::EEXIST));
    }
    let fd = open_tun(&what)?;
    let mut r = ifreq(&shown, &what)?;
    ioctl_errno(&fd, TUNSETIFF, &mut r as *mut libc::ifreq as libc::c_ulong).map_err(|errno| match errno {
        // TUNSETIFF on a name that exists as another kind of link says EINVAL or EBUSY.
        libc::EBUSY | libc::EINVAL => NetError { kind: ErrorKind::Exists, message: format!("{what}: a link of that name exists and is no free TAP") },
        e => errno_error(&what, e),
    })?;
    let name: String = r.ifr_name.iter().take_while(|c| **c != 0).map(|c| *c as u8 as char).collect();
    if let Some(uid) = spec.owner {
        ioctl(&fd, TUNSETOWNER, uid as libc::c_ulong, &format!("give TAP {name} to uid {uid}"))?;
    }
    if let Some(gid) = spec.group {
        ioctl(&fd, TUNSETGROUP, gid as libc::c_ulong, &format!("give TAP {name} to gid {gid}"))?;
    }
    if spec.persist {
        ioctl(&fd, TUNSETPERSIST, 1, &format!("make TAP {name} persistent"))?;
    }
    Ok(name)
}

/// Deletes a persistent TAP: attach to it and clear its persist flag; it goes when we close.
pub fn del(name: &str) -> Result<(), NetError> {
    let what = format!("delete TAP {name}");
    let fd = open_tun(&what)?;
    let mut r = ifreq(name, &what)?;
    ioctl(&fd, TUNSETIFF, &mut r as *mut libc::ifreq as libc::c_ulong, &what)?;
    ioctl(&fd, TUNSETPERSIST, 0, &what)
}
