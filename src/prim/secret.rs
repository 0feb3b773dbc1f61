//! Where a BMC password (or K_g) comes from — never the command line: an environment variable,
//! a file only its owner can read, a credentials file with a line per BMC, or a prompt on the
//! terminal. The secret stays in zeroizing memory and no message ever contains it.
use std::io::{BufRead, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The places to look, in order; the first that has the secret wins.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
    /// Ask on the terminal when nothing else had it (only if there is one).
    pub prompt: bool,
}

/// The most a secret file may hold (a credentials file of many BMCs included).
const MAX_SECRET_FILE: u64 = 1 << 20;

/// A file that holds secrets: owned by the caller (or root), readable and writable by its owner
/// only, read as bytes (at most 1 MiB).
fn private_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: a FIFO under the name must not block the open (it is refused below).
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("{shown}: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let me = crate::prim::fs::euid();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!("{shown} is owned by uid {}, not by you or root; refused", meta.uid()));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!("{shown} is readable by group or others; refused (chmod 600 {shown})"));
    }
    let mut buf = Zeroizing::new(Vec::new());
    (&mut f).take(MAX_SECRET_FILE + 1).read_to_end(&mut buf).map_err(|e| format!("{shown}: {e}"))?;
    if buf.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("{shown} is larger than {MAX_SECRET_FILE} bytes; refused"));
    }
    Ok(buf)
}

/// Keeps secrets out of core dumps and away from ptrace by other processes of the same user:
/// once a secret is about to be read, the process is no longer dumpable, until it exits.
pub fn guard_memory() {
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) takes no pointers.
    unsafe { nix::libc::prctl(nix::libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// Whether the process may be dumped (PR_GET_DUMPABLE).
pub fn dumpable() -> bool {
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    unsafe { nix::libc::prctl(nix::libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 }
}

/// A K_g as given: `0x` and 1-20 bytes of hex, or the key itself (at most 20 bytes). The
/// message never shows the key.
pub fn kg_bytes(raw: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, String> {
    let key = match raw.strip_prefix(b"0x").or_else(|| raw.strip_prefix(b"0X")) {
        Some(hex) => {
            if hex.is_empty() {
                return Err("the K_g is 0x and no hex digits".into());
            }
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err("the K_g after 0x holds a byte that is no hex digit".into());
            }
            if hex.len() % 2 != 0 {
                return Err(format!("the K_g after 0x has {} hex digits, not an even number", hex.len()));
            }
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            Zeroizing::new(hex.chunks(2).map(|c| digit(c[0]) << 4 | digit(c[1])).collect::<Vec<u8>>())
        }
        None => raw,
    };
    if key.is_empty() || key.len() > 20 {
        return Err(format!("a K_g has 1 to 20 bytes, this one {}", key.len()));
    }
    Ok(key)
}

/// The first line of a secret file, without its line end.
fn first_line(mut v: Zeroizing<Vec<u8>>) -> Zeroizing<Vec<u8>> {
    if let Some(n) = v.iter().position(|&b| b == b'\n') {
        v.truncate(n);
    }
    if v.last() == Some(&b'\r') {
        v.pop();
    }
    v
}

/// A credentials file: `host[:port] user secret` a line (`#` comments); the secret is the rest
/// of the line. Matches `host:port` first, then `host`.
fn from_credentials(path: &Path, host: &str, port: u16, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let text = match private_file(path) {
        Ok(t) => t,
        Err(_) if !path.exists() => return Ok(None),
        Err(e) => return Err(e),
    };
    let want = [format!("{host}:{port}"), host.to_string()];
    for key in &want {
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'#') {
                continue;
            }
            let mut parts = line.splitn(3, |&b| b == b' ' || b == b'\t');
            let (Some(h), Some(u), Some(secret)) = (parts.next(), parts.next(), parts.next()) else { continue };
            if h == key.as_bytes() && u == user.as_bytes() {
                return Ok(Some(Zeroizing::new(secret.to_vec())));
            }
        }
    }
    Ok(None)
}

fn prompt(what: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") else { return Ok(None) };
    let Ok(saved) = tcgetattr(&tty) else { return Ok(None) };
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    let mut out = &tty;
    let _ = write!(out, "{what}: ");
    let _ = out.flush();
    tcsetattr(&tty, SetArg::TCSANOW, &quiet).map_err(|e| format!("/dev/tty: {e}"))?;
    let mut line = Zeroizing::new(Vec::new());
    let r = std::io::BufReader::new(&tty).read_until(b'\n', &mut line);
    let _ = tcsetattr(&tty, SetArg::TCSANOW, &saved);
    let _ = writeln!(out);
    r.map_err(|e| format!("/dev/tty: {e}"))?;
    Ok(Some(first_line(line)))
}

/// Finds the secret for `user` on `host:port`. `what` names it in messages ("password").
pub fn find(s: &Sources, what: &str, host: &str, port: u16, user: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    guard_memory();
    if let Some(var) = &s.env {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(Zeroizing::new(std::os::unix::ffi::OsStringExt::into_vec(v)));
        }
    }
    if let Some(f) = &s.file {
        return private_file(f).map(first_line);
    }
    if let Some(c) = &s.credentials {
        if let Some(v) = from_credentials(c, host, port, user)? {
            return Ok(v);
        }
    }
    if s.prompt {
        if let Some(v) = prompt(&format!("IPMI {what} for {user}@{host}:{port}"))? {
            return Ok(v);
        }
    }
    let mut tried = Vec::new();
    if let Some(v) = &s.env {
        tried.push(format!("${v}"));
    }
    if let Some(c) = &s.credentials {
        tried.push(format!("a line '{host}[:{port}] {user} ...' in {}", c.display()));
    }
    if s.prompt {
        tried.push("a terminal to ask on".into());
    }
    Err(format!("no IPMI {what} for {user}@{host}:{port}: looked for {}", if tried.is_empty() { "nothing".into() } else { tried.join(", ") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str, mode: u32) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ctys-secret-{name}-{}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn sources_in_order_and_never_in_messages() {
        let creds = file("creds", "# bmcs\n10.0.0.5:623 admin s3cret with space\n10.0.0.6 admin other\n", 0o600);
        let s = Sources { env: Some("CTYS_TEST_NO_SUCH_VAR".into()), credentials: Some(creds.clone()), ..Default::default() };
        assert_eq!(&*find(&s, "password", "10.0.0.5", 623, "admin").unwrap(), b"s3cret with space");
        assert_eq!(&*find(&s, "password", "10.0.0.6", 9623, "admin").unwrap(), b"other");
        let e = find(&s, "password", "10.0.0.7", 623, "admin").unwrap_err();
        assert!(e.contains("$CTYS_TEST_NO_SUCH_VAR") && e.contains("10.0.0.7[:623] admin") && !e.contains("s3cret"), "{e}");
        let open = file("open", "pw\n", 0o644);
        let s = Sources { file: Some(open.clone()), ..Default::default() };
        let e = find(&s, "password", "h", 623, "u").unwrap_err();
        assert!(e.contains("readable by group or others; refused") && !e.contains("pw\n"), "{e}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(&*find(&s, "password", "h", 623, "u").unwrap(), b"pw");
        std::fs::remove_file(creds).unwrap();
        std::fs::remove_file(open).unwrap();
        assert!(!dumpable(), "a process that read a secret cannot be dumped");
    }

    #[test]
    fn kg_as_text_or_hex_never_shown() {
        let z = |s: &[u8]| Zeroizing::new(s.to_vec());
        assert_eq!(&*kg_bytes(z(b"0x0102ff")).unwrap(), &[1, 2, 255]);
        assert_eq!(&*kg_bytes(z(b"plain-key")).unwrap(), b"plain-key");
        let e = kg_bytes(z(b"0xzz-secret")).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert!(kg_bytes(z(&[b'k'; 21])).unwrap_err().contains("1 to 20 bytes"));
        assert!(kg_bytes(z(b"")).is_err());
    }

    #[test]
    fn a_secret_file_of_another_user_is_refused() {
        let p = file("other", "pw\n", 0o600);
        if crate::prim::fs::euid() == 0 {
            std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
            let e = find(&Sources { file: Some(p.clone()), ..Default::default() }, "password", "h", 623, "u").unwrap_err();
            assert!(e.contains("owned by uid 65534, not by you or root; refused"), "{e}");
        }
        std::fs::remove_file(p).unwrap();
    }
}
