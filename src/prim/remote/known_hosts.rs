//! known_hosts checking done here rather than by libssh2, which ignores `@revoked` lines:
//! plain and hashed (`|1|salt|hash`) host patterns, `[host]:port` names, wildcards and `!`
//! negation, `@revoked` (refused wherever it appears) and `@cert-authority` (not a host key).
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::config::patterns_match;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone)]
struct Entry {
    marker: Marker,
    hosts: String,
    key: Vec<u8>,
    line: usize,
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

fn hashed_match(field: &str, name: &str) -> bool {
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

fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split_whitespace();
        let mut first = f.next().unwrap_or_default();
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = f.next().unwrap_or_default();
        }
        // hosts, key type, base64 key; a line that does not parse is skipped, as OpenSSH does.
        let (Some(_kt), Some(b64)) = (f.next(), f.next()) else { continue };
        let Ok(key) = STANDARD.decode(b64) else { continue };
        out.push(Entry { marker, hosts: first.to_string(), key, line: i + 1 });
    }
    out
}

/// Checks a server key against the given files (missing files count as empty). A revoked key
/// is refused even when another line accepts it, so every line is read before any verdict.
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &[u8]) -> Verdict {
    let name = lookup_name(host, port);
    let ktype = key_type(key);
    let (mut known, mut changed) = (false, None);
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for e in parse(&text) {
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

/// Appends `name keytype base64` (accept-new), creating the file (mode 0600) and its directory.
pub fn append(file: &Path, host: &str, port: u16, key: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let ktype = key_type(key).ok_or_else(|| std::io::Error::other("server key blob has no type"))?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(file)?;
    writeln!(f, "{} {ktype} {}", lookup_name(host, port), STANDARD.encode(key))
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
        assert_eq!(check(&files, "127.0.0.3", 2222, &k1), Verdict::Known);
        assert_eq!(check(&files, "127.0.0.4", 2222, &k1), Verdict::Known, "hashed entry");
        assert_eq!(check(&files, "127.0.0.3", 2222, &k2), Verdict::Changed { file: f.clone(), line: 2 });
        assert_eq!(check(&files, "127.0.0.3", 22, &k1), Verdict::Unknown, "port 22 is another name");
        assert_eq!(check(&files, "lab1", 22, &k2), Verdict::Known);
        assert_eq!(check(&files, "lab9", 22, &k2), Verdict::Unknown, "negated pattern");
        assert_eq!(check(&files, "lab1", 22, &k3), Verdict::Revoked { file: f.clone(), line: 7 });
        // Revoked wins over an earlier line that accepts the same key.
        let g = file("rev", &format!("lab1 ecdsa-sha2-nistp256 {}\n@revoked * ecdsa-sha2-nistp256 {}\n", e(&k3), e(&k3)));
        assert_eq!(check(std::slice::from_ref(&g), "lab1", 22, &k3), Verdict::Revoked { file: g.clone(), line: 2 });
        std::fs::remove_file(g).unwrap();
        // A CA line is no host key.
        assert_eq!(check(&files, "other", 22, &k2), Verdict::Unknown);
        std::fs::remove_file(f).unwrap();
    }

    #[test]
    fn append_then_known() {
        let k = blob("ssh-ed25519", b"new");
        let f = std::env::temp_dir().join(format!("ctys-kh-dir-{}", std::process::id())).join("known_hosts");
        append(&f, "127.0.0.9", 2222, &k).unwrap();
        assert_eq!(check(std::slice::from_ref(&f), "127.0.0.9", 2222, &k), Verdict::Known);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
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
