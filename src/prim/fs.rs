//! Files whose owner matters. ctys keeps state, pid files and sockets in shared directories
//! (/var/tmp by default), where anyone may plant a file under a name ctys uses: such a file is
//! trusted only when the caller (or root) owns it, nobody else may write it, and it is no
//! symbolic link. Reads are bounded; writes replace a file atomically and never follow a link.
use std::fs::Metadata;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::failure::{Failure, Kind};

/// The caller's effective uid.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Whether an entry may be trusted: owned by the caller, root or one of `owners`, no symbolic
/// link, and not writable by others (a regular file or directory: not by its group either; a
/// socket may be the group's, as `vde_switch -g` makes it).
pub fn check_trusted(path: &Path, meta: &Metadata, owners: &[u32]) -> Result<(), Failure> {
    let shown = path.display();
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Err(Failure::new(Kind::Untrusted, format!("{shown} is a symbolic link; not trusted")));
    }
    let uid = meta.uid();
    if uid != euid() && uid != 0 && !owners.contains(&uid) {
        return Err(Failure::new(Kind::Untrusted, format!("{shown} is owned by uid {uid}, not by you or root; not trusted")));
    }
    let others = if ft.is_socket() { 0o002 } else { 0o022 };
    if meta.mode() & others != 0 {
        return Err(Failure::new(
            Kind::Untrusted,
            format!("{shown} is writable by others (mode {:04o}); not trusted", meta.mode() & 0o7777),
        ));
    }
    Ok(())
}

/// What `lstat` says of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// "file", "dir", "link", "socket", "fifo", "char", "block".
    pub kind: &'static str,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits, setuid/setgid/sticky included.
    pub mode: u32,
    pub size: u64,
}

fn kind_of(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_symlink() {
        "link"
    } else if t.is_dir() {
        "dir"
    } else if t.is_socket() {
        "socket"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_char_device() {
        "char"
    } else if t.is_block_device() {
        "block"
    } else {
        "file"
    }
}

/// `lstat`: None when nothing is there.
pub fn stat(path: &Path) -> Result<Option<Stat>, Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(Stat { kind: kind_of(&m), uid: m.uid(), gid: m.gid(), mode: m.mode() & 0o7777, size: m.len() })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::io(path.display(), &e)),
    }
}

/// Reads a regular file of at most `max` bytes; None when it does not exist. With `trust`, the
/// file must pass `check_trusted` with those extra owners (a symbolic link is refused, not
/// followed).
pub fn read(path: &Path, max: u64, trust: Option<&[u32]>) -> Result<Option<Vec<u8>>, Failure> {
    let shown = path.display();
    let mut opts = std::fs::OpenOptions::new();
    // O_NONBLOCK: a FIFO planted under the name must not block the open.
    let mut flags = nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC;
    if trust.is_some() {
        flags |= nix::libc::O_NOFOLLOW;
    }
    opts.read(true).custom_flags(flags);
    let mut f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) && trust.is_some() => {
            return Err(Failure::new(Kind::Untrusted, format!("{shown} is a symbolic link; not trusted")));
        }
        Err(e) => return Err(Failure::io(shown, &e)),
    };
    let meta = f.metadata().map_err(|e| Failure::io(&shown, &e))?;
    // /dev/null is how users say "no file" (UserKnownHostsFile /dev/null, -F /dev/null).
    if trust.is_none() && meta.file_type().is_char_device() && meta.rdev() == nix::libc::makedev(1, 3) {
        return Ok(Some(Vec::new()));
    }
    if !meta.is_file() {
        return Err(Failure::new(Kind::Io, format!("{shown} is not a regular file")));
    }
    if let Some(owners) = trust {
        check_trusted(path, &meta, owners)?;
    }
    let mut buf = Vec::new();
    (&mut f).take(max.saturating_add(1)).read_to_end(&mut buf).map_err(|e| Failure::io(&shown, &e))?;
    if buf.len() as u64 > max {
        return Err(Failure::new(Kind::TooLarge, format!("{shown} is larger than {max} bytes")));
    }
    Ok(Some(buf))
}

/// Replaces `path` with `data` atomically (a new file beside it, renamed over it), with `mode`.
/// A file already there must be trusted (it is replaced, never written through; a symbolic
/// link there is refused).
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), Failure> {
    let shown = path.display();
    if let Ok(m) = std::fs::symlink_metadata(path) {
        check_trusted(path, &m, &[])?;
    }
    let name = path.file_name().ok_or_else(|| Failure::new(Kind::Io, format!("{shown}: not a file name")))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".ctys-{}-{:08x}", std::process::id(), rand::random::<u32>()));
    let tmp: PathBuf = dir.join(tmp_name);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)?;
        // The umask may have taken bits away from `mode`; the caller asked for exactly it.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::io(&shown, &e)
    })
}

/// Removes a trusted entry (a directory with everything in it); false when nothing is there.
/// An entry that is not trusted is left alone and named in the error.
pub fn remove(path: &Path, owners: &[u32], within: Option<&Path>) -> Result<bool, Failure> {
    check_removable(path, within)?;
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Failure::io(path.display(), &e)),
    };
    check_trusted(path, &m, owners)?;
    let r = if m.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    r.map(|()| true).map_err(|e| Failure::io(path.display(), &e))
}

/// What `remove` refuses before it looks: `/`, a path with `..` (it could lead anywhere), and with
/// `within`, a path that is not `within` or under it.
fn check_removable(path: &Path, within: Option<&Path>) -> Result<(), Failure> {
    use std::path::Component;
    let shown = path.display();
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Failure::new(Kind::Invalid, format!("{shown}: a path with '..' is not removed")));
    }
    if path.components().all(|c| matches!(c, Component::RootDir | Component::CurDir)) {
        return Err(Failure::new(Kind::Invalid, format!("{shown}: the root directory is never removed")));
    }
    if let Some(root) = within {
        let inside = root.components().all(|c| c != Component::ParentDir) && path.starts_with(root);
        if !inside {
            return Err(Failure::new(Kind::Invalid, format!("{shown} is not under {}; not removed", root.display())));
        }
    }
    Ok(())
}

/// An entry opened without following a link (a directory too), for changes through its
/// descriptor: what was checked is what changes. Only the caller's own (or, for root, anyone's).
fn open_own(path: &Path) -> Result<std::fs::File, Failure> {
    let shown = path.display();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => Failure::new(Kind::Untrusted, format!("{shown} is a symbolic link; left alone")),
            _ => Failure::io(&shown, &e),
        })?;
    let m = f.metadata().map_err(|e| Failure::io(&shown, &e))?;
    if m.uid() != euid() && euid() != 0 {
        return Err(Failure::new(Kind::Untrusted, format!("{shown} is owned by uid {}, not by you; left alone", m.uid())));
    }
    Ok(f)
}

/// Sets an entry's permission bits (no link followed; only the caller's own).
pub fn chmod(path: &Path, mode: u32) -> Result<(), Failure> {
    let f = open_own(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777)).map_err(|e| Failure::io(path.display(), &e))
}

/// Gives an entry to a user and group (no link followed; only the caller's own; root's power).
pub fn chown(path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<(), Failure> {
    let f = open_own(path)?;
    std::os::unix::fs::fchown(&f, uid, gid).map_err(|e| Failure::io(path.display(), &e))
}

/// Renames an entry of the caller's (a link is moved, never followed) within one file system.
pub fn rename(from: &Path, to: &Path) -> Result<(), Failure> {
    let m = std::fs::symlink_metadata(from).map_err(|e| Failure::io(from.display(), &e))?;
    if m.uid() != euid() && euid() != 0 {
        return Err(Failure::new(Kind::Untrusted, format!("{} is owned by uid {}, not by you; left alone", from.display(), m.uid())));
    }
    std::fs::rename(from, to).map_err(|e| Failure::io(format!("{} -> {}", from.display(), to.display()), &e))
}

/// Makes a directory only the caller may write (mode 0700; missing parents 0755), or checks
/// that the one there is trusted.
pub fn private_dir(path: &Path) -> Result<(), Failure> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(|e| Failure::io(parent.display(), &e))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Failure::io(path.display(), &e)),
    }
    let m = std::fs::symlink_metadata(path).map_err(|e| Failure::io(path.display(), &e))?;
    if !m.is_dir() {
        return Err(Failure::new(Kind::Untrusted, format!("{} is not a directory", path.display())));
    }
    if m.uid() != euid() {
        return Err(Failure::new(Kind::Untrusted, format!("{} is owned by uid {}, not by you; not trusted", path.display(), m.uid())));
    }
    check_trusted(path, &m, &[])
}

/// The regular files under `dir` and its subdirectories, as paths relative to it, sorted. A link
/// to a file counts; a link to a directory is not entered (two links to `.` would never end),
/// and at most `max` files are listed. A missing `dir` has none.
pub fn list_files(dir: &Path, max: usize) -> Result<Vec<PathBuf>, Failure> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let rd = match std::fs::read_dir(dir.join(&rel)) {
            Ok(rd) => rd,
            Err(e) if rel.as_os_str().is_empty() && e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Failure::io(dir.join(&rel).display(), &e)),
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let name = rel.join(e.file_name());
            if t.is_dir() {
                todo.push(name);
            } else if t.is_file() || (t.is_symlink() && e.path().is_file()) {
                if out.len() == max {
                    return Err(Failure::new(Kind::TooLarge, format!("{} holds more than {max} files", dir.display())));
                }
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ctys-fs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn write_then_read_and_bounds() {
        let d = scratch("rw");
        let f = d.join("state");
        write_atomic(&f, b"caf\xe9\n", 0o600).unwrap();
        assert_eq!(read(&f, 100, Some(&[])).unwrap().unwrap(), b"caf\xe9\n");
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        assert_eq!(read(&f, 3, Some(&[])).unwrap_err().kind, Kind::TooLarge);
        assert_eq!(read(&d.join("none"), 3, Some(&[])).unwrap(), None);
        // Leftover temporary files: none.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn links_and_writable_files_are_not_trusted() {
        let d = scratch("trust");
        let target = d.join("target");
        std::fs::write(&target, "x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read(&link, 10, Some(&[])).unwrap_err().kind, Kind::Untrusted);
        assert_eq!(read(&link, 10, None).unwrap().unwrap(), b"x", "untrusted reads follow links");
        // A link where the file should be is refused, not written through.
        assert_eq!(write_atomic(&link, b"new", 0o600).unwrap_err().kind, Kind::Untrusted);
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = read(&target, 10, Some(&[])).unwrap_err();
        assert_eq!(e.kind, Kind::Untrusted);
        assert!(e.message.contains("writable by others (mode 0666)"), "{e}");
        assert_eq!(remove(&target, &[], None).unwrap_err().kind, Kind::Untrusted);
        assert!(target.exists(), "an untrusted file is left alone");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_fifo_does_not_block_a_read() {
        let d = scratch("fifo");
        let p = d.join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&p).status().unwrap().success());
        assert!(read(&p, 10, Some(&[])).unwrap_err().message.contains("not a regular file"));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn dev_null_reads_empty_but_other_devices_do_not() {
        assert_eq!(read(Path::new("/dev/null"), 10, None).unwrap(), Some(Vec::new()));
        assert!(read(Path::new("/dev/null"), 10, Some(&[0])).is_err(), "a trusted file is a regular file");
        assert!(read(Path::new("/dev/zero"), 10, None).unwrap_err().message.contains("not a regular file"));
    }

    #[test]
    fn listing_never_follows_a_directory_link() {
        let d = scratch("list");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/g"), "").unwrap();
        std::fs::write(d.join("a"), "").unwrap();
        std::os::unix::fs::symlink(".", d.join("loop1")).unwrap();
        std::os::unix::fs::symlink(".", d.join("loop2")).unwrap();
        std::os::unix::fs::symlink("a", d.join("alias")).unwrap();
        let names: Vec<String> = list_files(&d, 10).unwrap().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, ["a", "alias", "sub/g"]);
        assert_eq!(list_files(&d, 2).unwrap_err().kind, Kind::TooLarge);
        assert!(list_files(&d.join("none"), 10).unwrap().is_empty());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn private_dirs() {
        let d = scratch("priv");
        let p = d.join("a/b/state");
        private_dir(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o700);
        private_dir(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(private_dir(&p).unwrap_err().kind, Kind::Untrusted);
        assert!(remove(&d.join("a/b/none"), &[], None).is_ok_and(|gone| !gone));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn remove_refuses_the_root_dotdot_and_paths_outside_its_root() {
        for p in ["/", "//", "/.", "/tmp/../etc"] {
            assert_eq!(remove(Path::new(p), &[], None).unwrap_err().kind, Kind::Invalid, "{p}");
        }
        let d = scratch("within");
        let inner = d.join("lab/x");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::set_permissions(d.join("lab"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(remove(&inner, &[], Some(&d.join("other"))).unwrap_err().kind, Kind::Invalid);
        assert!(inner.exists(), "nothing removed outside the root");
        assert!(remove(&inner, &[], Some(&d.join("lab"))).unwrap());
        assert!(!inner.exists());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn chmod_chown_rename_act_on_the_entry_never_through_a_link() {
        let d = scratch("chmod");
        let f = d.join("f");
        std::fs::write(&f, "x").unwrap();
        chmod(&f, 0o640).unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        chown(&f, None, Some(nix::unistd::getegid().as_raw())).unwrap();
        let link = d.join("l");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(chmod(&link, 0o600).unwrap_err().kind, Kind::Untrusted);
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640, "the target did not change");
        rename(&link, &d.join("l2")).unwrap();
        assert!(std::fs::symlink_metadata(d.join("l2")).unwrap().file_type().is_symlink(), "the link itself moved");
        rename(&f, &d.join("g")).unwrap();
        assert!(d.join("g").exists() && !f.exists());
        assert_eq!(rename(&d.join("none"), &d.join("x")).unwrap_err().kind, Kind::NotFound);
        std::fs::remove_dir_all(d).unwrap();
    }
}
