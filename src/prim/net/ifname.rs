//! Interface names as the kernel accepts them (its dev_valid_name): 1 to 15 bytes, not `.` or
//! `..`, no `/`, `:`, NUL or white space. Checked before a name reaches netlink or an ioctl,
//! which would otherwise get (or choke on) a name of any length.
use nix::libc;

/// The size of an interface name buffer, its NUL included.
pub const IFNAMSIZ: usize = 16;

/// Whether the kernel would accept `name` as an interface name.
pub fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| b == 0 || b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// Why `name` is refused, with at most its first 32 characters shown.
pub fn refusal(name: &str) -> String {
    let shown: String = name.chars().take(32).collect();
    let more = if shown.len() < name.len() { format!("... ({} bytes)", name.len()) } else { String::new() };
    format!("bad interface name {shown:?}{more}: 1 to 15 bytes, not . or .., no '/', ':', white space or NUL")
}

/// An all-zero ifreq carrying `name`, or None when the name is not valid.
pub fn ifreq(name: &str) -> Option<libc::ifreq> {
    if !valid(name) {
        return None;
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_rule() {
        for ok in ["eth0", "a", "br-lan.100", "123456789012345"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", ".", "..", "1234567890123456", "a/b", "a:1", "a b", "a\0", "tab\t"] {
            assert!(!valid(bad), "{bad:?}");
            assert!(ifreq(bad).is_none());
        }
        let long = "x".repeat(100_000);
        assert!(!valid(&long));
        assert!(refusal(&long).len() < 200, "the message stays short");
        let r = ifreq("tap0").unwrap();
        assert_eq!(r.ifr_name[..5].iter().map(|&c| c as u8).collect::<Vec<_>>(), b"tap0\0");
    }
}
