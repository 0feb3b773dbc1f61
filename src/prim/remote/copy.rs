//! Files over SFTP on the kept sessions: copy to a host, fetch from one. Every file is written
//! under a temporary name beside its final one and moved into place only when it is whole, so a
//! reader never sees half a file; data streams in CHUNK pieces, so memory stays flat whatever the
//! size. A failure removes the temporary files it made; what was there before stays.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ssh2::{FileStat, OpenFlags, OpenType, Sftp};

use super::session::{err, shell_quote};
use super::{Conn, ErrorKind, ExecRequest, RemoteError};

const CHUNK: usize = 256 * 1024;

/// What to copy where.
#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    /// Local files and directories (directories go recursively).
    pub srcs: Vec<PathBuf>,
    /// The path on the host: a directory when it is one there, ends with `/`, or there are
    /// several sources (then it is made when missing); else the name of the one copy (its
    /// directory made when missing).
    pub dest: String,
    /// Permission bits of the copies (default: the source's).
    pub mode: Option<u32>,
    /// Keep the sources' modification times.
    pub preserve: bool,
    /// Bounds each SFTP operation (a host that stops answering fails, the others go on).
    pub op_timeout: Duration,
}

/// What arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Copied {
    pub files: u64,
    pub bytes: u64,
    /// Where it went: the remote paths of a copy's top-level entries, or the local path of a fetch.
    pub paths: Vec<String>,
}

fn sftp_err(label: &str, what: &str, e: &ssh2::Error) -> RemoteError {
    use ssh2::ErrorCode::{Session, SFTP};
    // SFTP status codes (draft-ietf-secsh-filexfer-02): 2 no such file, 3 permission denied.
    let kind = match e.code() {
        Session(-9) => ErrorKind::Timeout,
        SFTP(2) => ErrorKind::NotFound,
        SFTP(3) => ErrorKind::Permission,
        SFTP(_) => ErrorKind::Io,
        Session(_) => ErrorKind::Ssh,
    };
    err(kind, label, format_args!("{what}: {}", e.message()))
}

fn io_err(label: &str, what: &str, e: &std::io::Error) -> RemoteError {
    err(ErrorKind::of_io(e), label, format_args!("{what}: {e}"))
}

/// Opens the SFTP subsystem on a session (the step that fails on a session that died).
pub fn open(conn: &Conn, op_timeout: Duration) -> Result<Sftp, RemoteError> {
    conn.sess.set_blocking(true);
    conn.sess.set_timeout(op_timeout.as_millis().clamp(1, u32::MAX as u128) as u32);
    conn.sess.sftp().map_err(|e| sftp_err(&conn.label, "cannot start SFTP (does the host's sshd_config have a Subsystem sftp line?)", &e))
}

fn base_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.to_string_lossy().into_owned(), |n| n.to_string_lossy().into_owned())
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") }
}

/// A temporary name beside `target`, hidden and unique.
fn temp_beside(target: &str) -> String {
    let (dir, name) = target.rsplit_once('/').map_or((".", target), |(d, n)| (if d.is_empty() { "/" } else { d }, n));
    join(dir, &format!(".{name}.ctys-{:016x}", rand::random::<u64>()))
}

/// Remote files written under temporary names, moved into place together at the end.
struct Staged<'a> {
    conn: &'a Conn,
    sftp: &'a Sftp,
    moves: Vec<(String, String)>,
}

impl Staged<'_> {
    /// Streams one local file to a temporary name beside `target`.
    fn file(&mut self, src: &Path, target: &str, p: &Put, cancel: &AtomicBool, done: &mut Copied) -> Result<(), RemoteError> {
        let label = &self.conn.label;
        let mut local = std::fs::File::open(src).map_err(|e| io_err(label, &src.display().to_string(), &e))?;
        let meta = local.metadata().map_err(|e| io_err(label, &src.display().to_string(), &e))?;
        let mode = p.mode.unwrap_or(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
        let tmp = temp_beside(target);
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::TRUNCATE;
        let mut f = self.sftp.open_mode(Path::new(&tmp), flags, mode as i32, OpenType::File).map_err(|e| sftp_err(label, &format!("cannot create {tmp}"), &e))?;
        self.moves.push((tmp.clone(), target.to_string()));
        let mut buf = vec![0u8; CHUNK];
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(err(ErrorKind::Cancelled, label, "cancelled"));
            }
            let n = local.read(&mut buf).map_err(|e| io_err(label, &src.display().to_string(), &e))?;
            if n == 0 {
                break;
            }
            f.write_all(&buf[..n]).map_err(|e| io_err(label, &format!("writing {tmp}"), &e))?;
            done.bytes += n as u64;
        }
        // OpenSSH's fsync extension: the data is on the host's disk before the name changes.
        let _ = f.fsync();
        if p.preserve {
            let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs());
            let st = FileStat { size: None, uid: None, gid: None, perm: Some(mode), atime: mtime, mtime };
            f.setstat(st).map_err(|e| sftp_err(label, &format!("cannot set the times of {tmp}"), &e))?;
        }
        done.files += 1;
        Ok(())
    }

    /// A local directory, recursively, as `target` (made when missing).
    fn dir(&mut self, src: &Path, target: &str, p: &Put, cancel: &AtomicBool, done: &mut Copied) -> Result<(), RemoteError> {
        mkdir_p(self.sftp, &self.conn.label, target)?;
        let label = &self.conn.label;
        let mut entries: Vec<_> = std::fs::read_dir(src).map_err(|e| io_err(label, &src.display().to_string(), &e))?.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let path = e.path();
            let t = join(target, &e.file_name().to_string_lossy());
            let ft = e.file_type().map_err(|er| io_err(label, &path.display().to_string(), &er))?;
            if ft.is_dir() {
                self.dir(&path, &t, p, cancel, done)?;
            } else if ft.is_file() || path.is_file() {
                self.file(&path, &t, p, cancel, done)?;
            }
        }
        Ok(())
    }

    /// Moves every staged file into place with one remote `mv -f` each (rename(2): a reader
    /// sees the old file or the new one), in one shell on the host.
    fn commit(&mut self, cancel: &AtomicBool) -> Result<(), RemoteError> {
        if self.moves.is_empty() {
            return Ok(());
        }
        let script: String = self.moves.iter().map(|(a, b)| format!("mv -f -- {} {} || exit 1\n", shell_quote(a), shell_quote(b))).collect();
        let req = ExecRequest { cmd: "/bin/sh".into(), stdin: script.into_bytes(), timeout: Some(Duration::from_secs(60)), ..Default::default() };
        let r = self.conn.exec(&req, None, cancel, &mut |_, _| {});
        if let Some(e) = r.error {
            return Err(e);
        }
        if r.outcome.status != Some(0) {
            let why = String::from_utf8_lossy(&r.outcome.stderr).trim().to_string();
            return Err(err(ErrorKind::Io, &self.conn.label, format_args!("cannot move the copies into place: {why}")));
        }
        self.moves.clear();
        Ok(())
    }
}

impl Drop for Staged<'_> {
    /// What was staged and not moved into place goes (a failed or cancelled copy).
    fn drop(&mut self) {
        for (tmp, _) in &self.moves {
            let _ = self.sftp.unlink(Path::new(tmp));
        }
    }
}

/// `mkdir -p` over SFTP.
fn mkdir_p(sftp: &Sftp, label: &str, dir: &str) -> Result<(), RemoteError> {
    if sftp.stat(Path::new(dir)).is_ok_and(|s| s.is_dir()) {
        return Ok(());
    }
    let mut at = String::new();
    for part in dir.split('/') {
        at = if at.is_empty() && dir.starts_with('/') { format!("/{part}") } else if at.is_empty() { part.to_string() } else { join(&at, part) };
        if part.is_empty() || sftp.stat(Path::new(&at)).is_ok_and(|s| s.is_dir()) {
            continue;
        }
        // Another writer may have made it meanwhile: only a directory that is still not there fails.
        if let Err(e) = sftp.mkdir(Path::new(&at), 0o755) {
            if !sftp.stat(Path::new(&at)).is_ok_and(|s| s.is_dir()) {
                return Err(sftp_err(label, &format!("cannot make the directory {at}"), &e));
            }
        }
    }
    Ok(())
}

/// Copies `p.srcs` to the host as cp would (see Put::dest).
pub fn put(conn: &Conn, sftp: &Sftp, p: &Put, cancel: &AtomicBool) -> Result<Copied, RemoteError> {
    let dest_stat = sftp.stat(Path::new(&p.dest)).ok();
    let into_dir = p.srcs.len() > 1 || p.dest.ends_with('/') || dest_stat.as_ref().is_some_and(FileStat::is_dir);
    if into_dir {
        mkdir_p(sftp, &conn.label, &p.dest)?;
    } else if let Some((parent, _)) = p.dest.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
        // As `install -D`: the copy's directory is made when missing.
        mkdir_p(sftp, &conn.label, parent)?;
    }
    let mut staged = Staged { conn, sftp, moves: Vec::new() };
    let mut done = Copied::default();
    for src in &p.srcs {
        let target = if into_dir { join(&p.dest, &base_name(src)) } else { p.dest.clone() };
        if src.is_dir() {
            staged.dir(src, &target, p, cancel, &mut done)?;
        } else {
            staged.file(src, &target, p, cancel, &mut done)?;
        }
        done.paths.push(target);
    }
    staged.commit(cancel)?;
    Ok(done)
}

/// Fetches `src` (a file, or a directory recursively) from the host into `dest_dir` under its
/// own name, each file streamed to a temporary name there and renamed when whole.
pub fn get(conn: &Conn, sftp: &Sftp, src: &str, dest_dir: &Path, cancel: &AtomicBool) -> Result<Copied, RemoteError> {
    let label = &conn.label;
    std::fs::create_dir_all(dest_dir).map_err(|e| io_err(label, &dest_dir.display().to_string(), &e))?;
    let st = sftp.stat(Path::new(src)).map_err(|e| sftp_err(label, src, &e))?;
    let target = dest_dir.join(base_name(Path::new(src.trim_end_matches('/'))));
    let mut done = Copied::default();
    get_entry(sftp, label, src, &st, &target, cancel, &mut done)?;
    done.paths.push(target.display().to_string());
    Ok(done)
}

fn get_entry(sftp: &Sftp, label: &str, src: &str, st: &FileStat, target: &Path, cancel: &AtomicBool, done: &mut Copied) -> Result<(), RemoteError> {
    if st.is_dir() {
        std::fs::create_dir_all(target).map_err(|e| io_err(label, &target.display().to_string(), &e))?;
        let mut entries = sftp.readdir(Path::new(src)).map_err(|e| sftp_err(label, src, &e))?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, est) in entries {
            let name = base_name(&path);
            if name == "." || name == ".." {
                continue;
            }
            get_entry(sftp, label, &join(src, &name), &est, &target.join(&name), cancel, done)?;
        }
        return Ok(());
    }
    if !st.is_file() {
        return Ok(());
    }
    let mut remote = sftp.open(Path::new(src)).map_err(|e| sftp_err(label, &format!("cannot open {src}"), &e))?;
    let tmp = target.with_file_name(format!(".{}.ctys-{:016x}", base_name(target), rand::random::<u64>()));
    let mut local = std::fs::File::create(&tmp).map_err(|e| io_err(label, &tmp.display().to_string(), &e))?;
    let copied = (|| -> Result<(), RemoteError> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(err(ErrorKind::Cancelled, label, "cancelled"));
            }
            let n = remote.read(&mut buf).map_err(|e| io_err(label, &format!("reading {src}"), &e))?;
            if n == 0 {
                break;
            }
            local.write_all(&buf[..n]).map_err(|e| io_err(label, &tmp.display().to_string(), &e))?;
            done.bytes += n as u64;
        }
        local.sync_all().map_err(|e| io_err(label, &tmp.display().to_string(), &e))?;
        if let Some(perm) = st.perm {
            let _ = std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(perm & 0o777));
        }
        std::fs::rename(&tmp, target).map_err(|e| io_err(label, &target.display().to_string(), &e))
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied?;
    done.files += 1;
    Ok(())
}
