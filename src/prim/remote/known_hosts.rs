//! known_hosts checking done here rather than by libssh2, which ignores `@revoked` lines:
//! plain and hashed (`|1|salt|hash`) host patterns, `[host]:port` names, wildcards and `!`
//! negation, `@revoked` (refused wherever it appears) and `@cert-authority` (not a host key).
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::config::patterns_match;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One host key line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub marker: Marker,
    pub hosts: String,
    pub key: Vec<u8>,
    pub line: usize,
}

/// The outcome of checking a server's key.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A line for this host holds this very key.
    Known,
    /// An `@revoked` line holds this key.
    Revoked { file: PathBuf, line: usize },
    /// Lines for this host hold other keys of the same type, and none holds this one.
    Changed { file: PathBuf, line: usize },
    /// No line for this host holds a key of this type.
    Unknown,
}

/// The name a host goes by in known_hosts: `host`, or `[host]:port` off port 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The key type stored at the start of an SSH public key blob (`ssh-ed25519`, ...).
pub fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4usize.checked_add(len)?)?).ok()
}

/// Whether a hashed host field (`|1|salt|hash`) is the HMAC-SHA1 of `name`.
pub fn hashed_match(field: &str, name: &str) -> bool {
    let mut parts = field.split('|');
    let (Some(""), Some("1"), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else { return false };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else { return false };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

fn hosts_match(field: &str, name: &str) -> bool {
    if field.starts_with('|') {
        hashed_match(field, name)
    } else {
        let pats: Vec<&str> = field.split(',').collect();
        patterns_match(&pats, name)
    }
}

/// The entries of a known_hosts file's bytes. A line that does not parse is skipped, as
/// OpenSSH does, and only that line: the marker, hosts, key type and key are ASCII, while a
/// comment (a `#` line, or text after the key) may be in any encoding.
pub fn parse(text: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let mut f = raw.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
        let Some(mut first) = f.next() else { continue };
        if first.starts_with(b"#") {
            continue;
        }
        let marker = match first {
            b"@revoked" => Marker::Revoked,
            b"@cert-authority" => Marker::CertAuthority,
            _ => Marker::None,
        };
        if marker != Marker::None {
            let Some(next) = f.next() else { continue };
            first = next;
        }
        let (Some(_kt), Some(b64)) = (f.next(), f.next()) else { continue };
        let (Ok(hosts), Ok(key)) = (std::str::from_utf8(first), STANDARD.decode(b64)) else { continue };
        out.push(Entry { marker, hosts: hosts.to_string(), key, line: i + 1 });
    }
    out
}

/// A known_hosts file's bytes: a missing file is empty; one that cannot be read is an error
/// (a check must not quietly pass over a file it could not see).
fn read(file: &Path) -> Result<Vec<u8>, String> {
    match crate::prim::fs::read(file, super::MAX_FILE, None) {
        Ok(b) => Ok(b.unwrap_or_default()),
        Err(e) => Err(format!("cannot read {}", e.message)),
    }
}

/// Checks a server key against the given files (missing files count as empty). A revoked key
/// is refused even when another line accepts it, so every line is read before any verdict.
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &[u8]) -> Result<Verdict, String> {
    let mut texts = Vec::with_capacity(files.len());
    for file in files {
        texts.push((file.clone(), read(file)?));
    }
    Ok(verdict(&texts, host, port, key))
}

/// The verdict on a server key from known_hosts texts, each with the file it came from.
pub fn verdict(texts: &[(PathBuf, Vec<u8>)], host: &str, port: u16, key: &[u8]) -> Verdict {
    let name = lookup_name(host, port);
    let ktype = key_type(key);
    let (mut known, mut changed) = (false, None);
    for (file, text) in texts {
        for e in parse(text) {
            match e.marker {
                Marker::Revoked if e.key == key => return Verdict::Revoked { file: file.clone(), line: e.line },
                Marker::None if hosts_match(&e.hosts, &name) => {
                    if e.key == key {
                        known = true;
                    } else if changed.is_none() && key_type(&e.key) == ktype {
                        changed = Some(Verdict::Changed { file: file.clone(), line: e.line });
                    }
                }
                _ => {}
            }
        }
    }
    if known {
        return Verdict::Known;
    }
    changed.unwrap_or(Verdict::Unknown)
}

/// accept-new: adds `name keytype base64` to the first file (made with mode 0600, and its
/// directory), under an exclusive lock on it, after checking again under that lock against
/// every file: a key some line revokes, or that another key of its type for the host
/// contradicts, is never written (the verdict comes back instead). A file not ending in a
/// newline gets one first. Returns the verdict seen under the lock (`Unknown`: it was added).
pub fn add(files: &[PathBuf], host: &str, port: u16, key: &[u8]) -> Result<Verdict, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = files.first().ok_or("no known_hosts file to add the key to")?;
    let shown = file.display();
    let ktype = key_type(key).ok_or("the server's key blob has no type")?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    // SAFETY: flock on a descriptor we own; the lock goes with the descriptor.
    if unsafe { nix::libc::flock(f.as_raw_fd(), nix::libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {shown}: {}", std::io::Error::last_os_error()));
    }
    let verdict = check(files, host, port, key)?;
    if verdict != Verdict::Unknown {
        return Ok(verdict);
    }
    let mut line = Vec::new();
    let len = f.metadata().map_err(|e| format!("{shown}: {e}"))?.len();
    if len > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1)).and_then(|_| f.read_exact(&mut last)).map_err(|e| format!("{shown}: {e}"))?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    line.extend_from_slice(format!("{} {ktype} {}\n", lookup_name(host, port), STANDARD.encode(key)).as_bytes());
    f.write_all(&line).map_err(|e| format!("cannot write {shown}: {e}"))?;
    Ok(Verdict::Unknown)
}

/// OpenSSH's fingerprint text for a SHA-256 digest: `SHA256:` and unpadded base64.
pub fn fingerprint(sha256: &[u8]) -> String {
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(kt: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (kt.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kt.as_bytes());
        b.extend_from_slice(body);
        b
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
        mac.update(name.as_bytes());
        format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(mac.finalize().into_bytes()))
    }

    fn file(tag: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ctys-kh-{tag}-{}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn verdicts() {
        let k1 = blob("ssh-ed25519", b"one");
        let k2 = blob("ssh-ed25519", b"two");
        let k3 = blob("ecdsa-sha2-nistp256", b"three");
        let e = |k: &[u8]| STANDARD.encode(k);
        let text = format!(
            "# comment\n[127.0.0.3]:2222 ssh-ed25519 {}\n{} ssh-ed25519 {}\nlab*,!lab9 ssh-ed25519 {}\n@cert-authority * ssh-ed25519 {}\nbroken line\n@revoked * ssh-ed25519 {}\n",
            e(&k1),
            hashed("[127.0.0.4]:2222", b"salt-bytes-12345678"),
            e(&k1),
            e(&k2),
            e(&k2),
            e(&k3),
        );
        let f = file("v", &text);
        let files = vec![PathBuf::from("/nonexistent/known_hosts"), f.clone()];
        assert_eq!(check(&files, "127.0.0.3", 2222, &k1).unwrap(), Verdict::Known);
        assert_eq!(check(&files, "127.0.0.4", 2222, &k1).unwrap(), Verdict::Known, "hashed entry");
        assert_eq!(check(&files, "127.0.0.3", 2222, &k2).unwrap(), Verdict::Changed { file: f.clone(), line: 2 });
        assert_eq!(check(&files, "127.0.0.3", 22, &k1).unwrap(), Verdict::Unknown, "port 22 is another name");
        assert_eq!(check(&files, "lab1", 22, &k2).unwrap(), Verdict::Known);
        assert_eq!(check(&files, "lab9", 22, &k2).unwrap(), Verdict::Unknown, "negated pattern");
        assert_eq!(check(&files, "lab1", 22, &k3).unwrap(), Verdict::Revoked { file: f.clone(), line: 7 });
        // Revoked wins over an earlier line that accepts the same key.
        let g = file("rev", &format!("lab1 ecdsa-sha2-nistp256 {}\n@revoked * ecdsa-sha2-nistp256 {}\n", e(&k3), e(&k3)));
        assert_eq!(check(std::slice::from_ref(&g), "lab1", 22, &k3).unwrap(), Verdict::Revoked { file: g.clone(), line: 2 });
        std::fs::remove_file(g).unwrap();
        // A CA line is no host key.
        assert_eq!(check(&files, "other", 22, &k2).unwrap(), Verdict::Unknown);
        std::fs::remove_file(f).unwrap();
    }

    #[test]
    fn add_then_known() {
        let k = blob("ssh-ed25519", b"new");
        let f = std::env::temp_dir().join(format!("ctys-kh-dir-{}", std::process::id())).join("known_hosts");
        let files = std::slice::from_ref(&f);
        assert_eq!(add(files, "127.0.0.9", 2222, &k).unwrap(), Verdict::Unknown);
        assert_eq!(check(files, "127.0.0.9", 2222, &k).unwrap(), Verdict::Known);
        assert_eq!(add(files, "127.0.0.9", 2222, &k).unwrap(), Verdict::Known, "added once");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        // A file without its last newline gets one before the new line.
        std::fs::write(&f, b"# caf\xe9").unwrap();
        add(files, "h", 22, &k).unwrap();
        let mut want = b"# caf\xe9\n".to_vec();
        want.extend_from_slice(format!("h ssh-ed25519 {}\n", STANDARD.encode(&k)).as_bytes());
        assert_eq!(std::fs::read(&f).unwrap(), want);
        std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
    }

    #[test]
    fn latin1_comments_and_bad_lines_skip_only_themselves() {
        let k1 = blob("ssh-ed25519", b"one");
        let k2 = blob("ssh-ed25519", b"two");
        let e = |k: &[u8]| STANDARD.encode(k);
        let mut text = b"# caf\xe9 du lab\nlab1 ssh-ed25519 ".to_vec();
        text.extend_from_slice(e(&k1).as_bytes());
        text.extend_from_slice(b" comment-\xe9\n\xff\xfe garbage\n@revoked * ssh-ed25519 ");
        text.extend_from_slice(e(&k2).as_bytes());
        text.push(b'\n');
        let f = file("latin1", "");
        std::fs::write(&f, &text).unwrap();
        let files = std::slice::from_ref(&f);
        assert_eq!(check(files, "lab1", 22, &k1).unwrap(), Verdict::Known, "the line with a Latin-1 comment counts");
        assert_eq!(check(files, "lab2", 22, &k2).unwrap(), Verdict::Revoked { file: f.clone(), line: 4 });
        // accept-new never writes a revoked key, nor one that contradicts a known one.
        assert_eq!(add(files, "lab2", 22, &k2).unwrap(), Verdict::Revoked { file: f.clone(), line: 4 });
        assert_eq!(add(files, "lab1", 22, &blob("ssh-ed25519", b"three")).unwrap(), Verdict::Changed { file: f.clone(), line: 2 });
        assert_eq!(std::fs::read(&f).unwrap(), text, "nothing written");
        std::fs::remove_file(f).unwrap();
        // A file that cannot be read is an error, not an empty file.
        let d = std::env::temp_dir();
        assert!(check(&[d.clone()], "lab1", 22, &k1).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn hostile_blobs_do_not_panic() {
        assert_eq!(key_type(&[0, 0]), None);
        assert_eq!(key_type(&[255, 255, 255, 255, b'a']), None);
        assert!(!hashed_match("|1|!!|??", "x"));
        assert!(!hashed_match("|2|a|b", "x"));
    }

    #[test]
    fn fingerprint_format() {
        assert_eq!(fingerprint(&[0u8; 32]), "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }
}
