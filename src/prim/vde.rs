//! vde_switch: find it, start it as a daemon (never in the foreground with stdin closed: it
//! would exit), talk to its management socket, and find switch sockets on disk.
//!
//! The management protocol (reference/vde): a banner, then the prompt `vde$ `. Each command is
//! answered by either a status line `1000 Success` / `10xx <errno text>`, or `0000 DATA END
//! WITH '.'`, data lines, a lone `.`, then the status line; then an empty line and the prompt.
//! Lines `3xxx ...` are asynchronous notifications; `9999 END OF SESSION` ends the session.
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::failure::{Failure, Kind};
use super::fs;

/// The first `vde_switch` on PATH.
pub fn find_switch() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("vde_switch"))
        .find(|p| p.is_file())
        .ok_or_else(|| "vde_switch is not on PATH (Debian: apt-get install vde2)".to_string())
}

/// How to start a switch.
#[derive(Debug, Clone, Default)]
pub struct SwitchSpec {
    /// The control directory (`-s`), e.g. /var/tmp/vde_switch0.alice.
    pub sock: PathBuf,
    /// The management socket (`-M`).
    pub mgmt: PathBuf,
    pub pidfile: PathBuf,
    /// The TAP the switch attaches to (`-t`).
    pub tap: Option<String>,
    /// Group owner of the sockets (`-g`).
    pub group: Option<String>,
    /// Socket permissions (`-m`, octal) and management socket permissions (`--mgmtmode`).
    pub mode: Option<u32>,
    pub mgmt_mode: Option<u32>,
}

/// A unix socket path holds at most 107 bytes (sun_path, with its NUL); vde_switch cuts longer
/// ones short without a word.
const SUN_PATH_MAX: usize = 107;
/// What vde_switch and its clients add to the switch directory: `/.PID-NNNNN` (a pid of up to
/// 7 digits).
const CLIENT_SUFFIX: usize = "/.4194304-00000".len();

/// Checks a switch's paths before anything is started: each directory they go in exists, and
/// each socket path fits a unix socket address (the switch directory leaves room for its
/// clients' sockets). Kinds: toolarge (a path too long), notfound (no such directory).
pub fn check_paths(spec: &SwitchSpec) -> Result<(), Failure> {
    let len = |p: &Path| p.as_os_str().len();
    for (p, room, what) in [(&spec.sock, CLIENT_SUFFIX, "switch directory"), (&spec.mgmt, 0, "management socket")] {
        if len(p) + room > SUN_PATH_MAX {
            return Err(Failure::new(
                Kind::TooLarge,
                format!("{what} {}: {} bytes, longer than a unix socket path allows ({} at most)", p.display(), len(p), SUN_PATH_MAX - room),
            ));
        }
    }
    for p in [&spec.sock, &spec.mgmt, &spec.pidfile] {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let Some(m) = std::fs::metadata(dir).ok().filter(|m| m.is_dir()) else {
            return Err(Failure::new(Kind::NotFound, format!("{}: no directory {}", p.display(), dir.display())));
        };
        // Anyone could swap what goes there for a link of theirs: only a sticky directory (as
        // /var/tmp) may be writable by others.
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            return Err(Failure::new(
                Kind::Untrusted,
                format!("{}: {} is writable by everyone and not sticky (mode {:04o}); not trusted", p.display(), dir.display(), m.mode() & 0o7777),
            ));
        }
    }
    Ok(())
}

/// Starts `vde_switch -d ...`, waits for its management socket, and returns the daemon's pid.
/// A switch that started but never opened its management socket is stopped again.
pub fn start(exe: &Path, spec: &SwitchSpec, timeout: Duration) -> Result<u32, Failure> {
    check_paths(spec)?;
    let mut c = Command::new(exe);
    c.arg("-d").arg("-s").arg(&spec.sock).arg("-M").arg(&spec.mgmt).arg("-p").arg(&spec.pidfile);
    if let Some(t) = &spec.tap {
        c.arg("-t").arg(t);
    }
    if let Some(g) = &spec.group {
        c.arg("-g").arg(g);
    }
    if let Some(m) = spec.mode {
        c.arg("-m").arg(format!("{m:o}"));
    }
    if let Some(m) = spec.mgmt_mode {
        c.arg("--mgmtmode").arg(format!("{m:o}"));
    }
    let out = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).output().map_err(|e| Failure::io(exe.display(), &e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Failure::new(Kind::Io, format!("vde_switch failed ({}): {}", out.status, err.trim())));
    }
    let deadline = Instant::now() + timeout;
    loop {
        let pid = switch_pid(&spec.pidfile).ok().flatten();
        if let (Some(pid), true) = (pid, is_socket(&spec.mgmt)) {
            return Ok(pid);
        }
        if Instant::now() >= deadline {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            }
            return Err(Failure::new(
                Kind::Timeout,
                format!("vde_switch started but {} did not appear within {} s; stopped it", spec.mgmt.display(), timeout.as_secs_f64()),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_socket(p: &Path) -> bool {
    std::fs::symlink_metadata(p).map(|m| m.file_type().is_socket()).unwrap_or(false)
}

/// The pid of a running vde_switch from its pid file, which must be the caller's (or root's):
/// nothing else may name what a timeout or a cancel kills. None when there is no such file or
/// it names no running vde_switch; an error when the file is not trusted.
pub fn switch_pid(pidfile: &Path) -> Result<Option<u32>, Failure> {
    let Some(text) = fs::read(pidfile, 64, Some(&[]))? else { return Ok(None) };
    let Some(pid) = std::str::from_utf8(&text).ok().and_then(|t| t.trim().parse::<u32>().ok()) else { return Ok(None) };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Ok((comm.trim() == "vde_switch").then_some(pid))
}

/// Gives a switch's sockets to a user and group: the control directory (mode 0700, or 02700
/// with `setgid`, as ctys-vnetctl -g does), the sockets in it and the management socket. The
/// pid file stays the caller's: whoever may write it chooses what a later cancel kills. Every
/// change goes through a descriptor opened without following links, and only to what the
/// caller's switch made (owned by the caller): a link put in place meanwhile changes nothing.
pub fn own(spec: &SwitchSpec, uid: u32, gid: u32, setgid: bool) -> Result<(), String> {
    use nix::libc;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let cpath = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| format!("{}: a NUL in the path", p.display()));
    let me = fs::euid();
    let sock = cpath(&spec.sock)?;
    // SAFETY: open on a NUL-terminated path; the result is checked before use.
    let fd = unsafe { libc::open(sock.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("{}: {}", spec.sock.display(), std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a descriptor we own from here on.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let meta = std::fs::File::from(dir.try_clone().map_err(|e| e.to_string())?).metadata().map_err(|e| e.to_string())?;
    if meta.uid() != me {
        return Err(format!("{} is owned by uid {}, not by this switch's starter; not changed", spec.sock.display(), meta.uid()));
    }
    let fail = |what: &str, p: &Path| format!("{what} {}: {}", p.display(), std::io::Error::last_os_error());
    // The entries, read through the descriptor (/proc/self/fd names the very directory).
    let listing = std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd())).map_err(|e| format!("{}: {e}", spec.sock.display()))?;
    for e in listing.flatten() {
        let name = std::ffi::CString::new(e.file_name().as_bytes()).map_err(|_| "a NUL in a name".to_string())?;
        // SAFETY: fstatat/fchownat on our descriptor and a NUL-terminated name; stat is plain data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            continue;
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFSOCK && st.st_uid == me
            && unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) } != 0
        {
            return Err(fail("chown", &spec.sock.join(e.file_name())));
        }
    }
    let mode = if setgid { 0o2700 } else { 0o700 };
    // SAFETY: fchown/fchmod on a descriptor we own.
    if unsafe { libc::fchown(dir.as_raw_fd(), uid, gid) } != 0 || unsafe { libc::fchmod(dir.as_raw_fd(), mode) } != 0 {
        return Err(fail("chown/chmod", &spec.sock));
    }
    let mgmt = std::fs::symlink_metadata(&spec.mgmt).map_err(|e| format!("{}: {e}", spec.mgmt.display()))?;
    if !mgmt.file_type().is_socket() || mgmt.uid() != me {
        return Err(format!("{} is not this switch's socket; not changed", spec.mgmt.display()));
    }
    // SAFETY: lchown on a NUL-terminated path changes the entry itself, never a link's target.
    if unsafe { libc::lchown(cpath(&spec.mgmt)?.as_ptr(), uid, gid) } != 0 {
        return Err(fail("chown", &spec.mgmt));
    }
    Ok(())
}

/// Removes what a switch leaves behind when it dies without `shutdown`: its control directory
/// with the sockets in it, the management socket and the pid file. Returns what it removed.
/// Each must be trusted (prim::fs: the caller's, root's or one of `owners`'); nothing is
/// removed when one is not.
/// Only what a switch leaves is removed: a directory holding nothing but sockets, a socket, a
/// pid file (a few digits). With `dry`, nothing is removed: the list says what would be.
pub fn remove_files(spec: &SwitchSpec, owners: &[u32], dry: bool) -> Result<Vec<PathBuf>, Failure> {
    let paths = [&spec.sock, &spec.mgmt, &spec.pidfile];
    let mut there = Vec::new();
    for p in paths {
        let Ok(m) = std::fs::symlink_metadata(p) else { continue };
        fs::check_trusted(p, &m, owners)?;
        if !leftover(p, &m, p == &spec.sock, p == &spec.pidfile) {
            return Err(Failure::new(
                Kind::Untrusted,
                format!("{} is not what a vde_switch leaves (a directory of sockets, a socket, a pid file); nothing removed", p.display()),
            ));
        }
        there.push(p.clone());
    }
    if !dry {
        for p in &there {
            fs::remove(p, owners, None)?;
        }
    }
    Ok(there)
}

/// Whether an entry is a switch's leftover of its kind.
fn leftover(p: &Path, m: &std::fs::Metadata, dir: bool, pidfile: bool) -> bool {
    if dir {
        return m.is_dir()
            && std::fs::read_dir(p).is_ok_and(|rd| rd.flatten().all(|e| e.file_type().is_ok_and(|t| t.is_socket())));
    }
    if pidfile {
        return m.is_file() && m.len() <= 64 && fs::read(p, 64, None).ok().flatten().is_some_and(|t| t.iter().all(|b| b.is_ascii_digit() || b.is_ascii_whitespace()));
    }
    m.file_type().is_socket()
}

/// One answer of the switch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// 1000 for success, 10xx an errno (+1000), 9999 end of session.
    pub code: u32,
    /// The text after the code (`Success`, `No such device or address`, ...).
    pub text: String,
    /// The data lines between `0000 DATA END WITH '.'` and `.`.
    pub data: Vec<String>,
    /// `3xxx` notifications that arrived meanwhile.
    pub notes: Vec<String>,
}

/// A management-socket session.
pub struct Mgmt {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// How long one command (or the banner) may take, all its reads together.
    timeout: Duration,
    pub banner: Vec<String>,
}

const PROMPT: &[u8] = b"vde$ ";

/// The most a reply may hold: `port/print` of a full switch is a few KiB; a socket that sends
/// more is not a vde_switch.
pub const MAX_REPLY: usize = 1 << 20;

fn io_fail(e: std::io::Error) -> Failure {
    Failure::io("vde management socket", &e)
}

impl Mgmt {
    /// Connects and reads the banner up to the first prompt. The socket must be trusted (the
    /// caller's, root's or one of `owners`'; see prim::fs); every command then gets `timeout`
    /// for its whole reply and at most MAX_REPLY bytes.
    pub fn connect(path: &Path, timeout: Duration, owners: &[u32]) -> Result<Mgmt, Failure> {
        let shown = path.display();
        let meta = std::fs::symlink_metadata(path).map_err(|e| Failure::io(&shown, &e))?;
        if !meta.file_type().is_socket() {
            return Err(Failure::new(Kind::Untrusted, format!("{shown}: not a socket")));
        }
        fs::check_trusted(path, &meta, owners)?;
        let s = UnixStream::connect(path).map_err(|e| Failure::io(&shown, &e))?;
        s.set_write_timeout(Some(timeout)).map_err(|e| Failure::io(&shown, &e))?;
        let writer = s.try_clone().map_err(|e| Failure::io(&shown, &e))?;
        let mut m = Mgmt { reader: BufReader::new(s), writer, timeout, banner: Vec::new() };
        let (lines, _) = m.read_until_prompt()?;
        m.banner = lines.into_iter().filter(|l| !l.is_empty()).collect();
        if !m.banner.first().is_some_and(|l| l.starts_with("VDE switch")) {
            return Err(Failure::new(Kind::Untrusted, format!("{shown}: not a vde_switch management socket")));
        }
        Ok(m)
    }

    /// Reads lines until the prompt, within the timeout and MAX_REPLY; returns them and whether
    /// the session ended.
    fn read_until_prompt(&mut self) -> Result<(Vec<String>, bool), Failure> {
        let deadline = Instant::now() + self.timeout;
        let mut reader = ReplyReader::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let late = || Failure::new(Kind::Timeout, format!("vde management socket: no prompt within {} s", self.timeout.as_secs_f64()));
            if left.is_zero() {
                return Err(late());
            }
            self.reader.get_ref().set_read_timeout(Some(left)).map_err(io_fail)?;
            let buf = self.reader.fill_buf().map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => late(),
                _ => io_fail(e),
            })?;
            if buf.is_empty() {
                return Ok((reader.eof(), true));
            }
            let (used, step) = reader.feed(buf)?;
            self.reader.consume(used);
            match step {
                Step::More => {}
                Step::Prompt(lines) => return Ok((lines, false)),
                Step::Ended(lines) => return Ok((lines, true)),
            }
        }
    }

    /// Sends one command and returns the switch's reply.
    pub fn cmd(&mut self, line: &str) -> Result<Reply, Failure> {
        if line.contains('\n') {
            return Err(Failure::new(Kind::Io, format!("a vde command is one line: {line:?}")));
        }
        self.writer.write_all(format!("{line}\n").as_bytes()).map_err(io_fail)?;
        let (lines, ended) = self.read_until_prompt()?;
        parse_reply(&lines, ended).ok_or_else(|| Failure::new(Kind::Io, format!("vde_switch gave no status for {line:?}: {lines:?}")))
    }
}

/// What a chunk of a management reply completed.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Nothing yet: more bytes are needed.
    More,
    /// The prompt came: the lines before it.
    Prompt(Vec<String>),
    /// `9999 END OF SESSION`: the lines up to it.
    Ended(Vec<String>),
}

/// The management protocol's reply as it arrives, in chunks: lines up to the prompt `vde$ `
/// or to `9999 ...`, at most MAX_REPLY bytes in all (any bytes; a line that is not UTF-8 is
/// read with U+FFFD).
#[derive(Debug, Default)]
pub struct ReplyReader {
    cur: Vec<u8>,
    lines: Vec<String>,
    total: usize,
}

impl ReplyReader {
    /// Takes a chunk; returns how many of its bytes were used (the rest belong to what comes
    /// after the prompt) and what they completed.
    pub fn feed(&mut self, buf: &[u8]) -> Result<(usize, Step), Failure> {
        self.total += buf.len();
        if self.total > MAX_REPLY {
            return Err(Failure::new(Kind::TooLarge, format!("vde management socket: a reply of more than {MAX_REPLY} bytes")));
        }
        for (i, &b) in buf.iter().enumerate() {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.cur).into_owned();
                self.cur.clear();
                let end = line.starts_with("9999 ");
                self.lines.push(line);
                if end {
                    return Ok((i + 1, Step::Ended(std::mem::take(&mut self.lines))));
                }
            } else {
                self.cur.push(b);
                if self.cur == PROMPT {
                    self.cur.clear();
                    return Ok((i + 1, Step::Prompt(std::mem::take(&mut self.lines))));
                }
            }
        }
        Ok((buf.len(), Step::More))
    }

    /// The stream ended: the lines so far, the unfinished one too.
    pub fn eof(&mut self) -> Vec<String> {
        if !self.cur.is_empty() {
            self.lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.cur)).into_owned());
        }
        std::mem::take(&mut self.lines)
    }
}

/// Makes a Reply of the lines between two prompts (None when there is no status line).
pub fn parse_reply(lines: &[String], ended: bool) -> Option<Reply> {
    let mut r = Reply::default();
    let mut in_data = false;
    let mut status = None;
    for l in lines {
        if in_data {
            if l == "." {
                in_data = false;
            } else {
                r.data.push(l.clone());
            }
            continue;
        }
        let (code, rest) = match l.split_once(' ') {
            Some((c, rest)) if c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit()) => (c.parse::<u32>().ok()?, rest),
            _ => continue,
        };
        match code {
            0 => in_data = true,
            3000..=3999 => r.notes.push(l.clone()),
            _ => status = Some((code, rest.to_string())),
        }
    }
    match status {
        Some((code, text)) => {
            r.code = code;
            r.text = text;
            Some(r)
        }
        // An empty line gets the prompt only; the session's end needs no status either.
        None if ended => Some(Reply { code: 9999, text: "END OF SESSION".into(), ..r }),
        None if lines.iter().all(|l| l.is_empty()) => Some(Reply { code: 1000, text: String::new(), ..r }),
        None => None,
    }
}

/// One endpoint of a port: `-- endpoint ID 0006 module tuntap      : tap0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: u32,
    pub module: String,
    pub description: String,
}

/// A port as `port/print` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub number: u32,
    pub active: bool,
    pub vlan: u32,
    /// `Current User:`, None for NONE.
    pub user: Option<String>,
    pub endpoints: Vec<Endpoint>,
}

/// Parses `port/print` (or `port/allprint`) data lines.
pub fn parse_ports(data: &[String]) -> Vec<Port> {
    let mut ports: Vec<Port> = Vec::new();
    for l in data {
        if let Some(rest) = l.strip_prefix("Port ") {
            let mut w = rest.split_whitespace();
            let number = w.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let vlan = rest.split("untagged_vlan=").nth(1).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).unwrap_or(0);
            let active = rest.split_whitespace().any(|x| x == "ACTIVE");
            ports.push(Port { number, active, vlan, user: None, endpoints: Vec::new() });
        } else if let Some(p) = ports.last_mut() {
            let t = l.trim();
            if let Some(u) = t.strip_prefix("Current User: ") {
                let name = u.split_whitespace().next().unwrap_or("NONE");
                p.user = (name != "NONE").then(|| name.to_string());
            } else if let Some(e) = t.strip_prefix("-- endpoint ID ") {
                let (id, rest) = e.split_once(' ').unwrap_or((e, ""));
                let rest = rest.trim_start().strip_prefix("module ").unwrap_or(rest);
                let (module, descr) = rest.split_once(':').unwrap_or((rest, ""));
                p.endpoints.push(Endpoint { id: id.parse().unwrap_or(0), module: module.trim().to_string(), description: descr.trim().to_string() });
            }
        }
    }
    ports
}

/// What `showinfo` and `port/showinfo` tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Info {
    pub version: Option<String>,
    pub pid: Option<u32>,
    pub mac: Option<String>,
    pub uptime: Option<u64>,
    pub numports: Option<u32>,
}

/// Parses `showinfo` data (and `port/showinfo` data for numports).
pub fn parse_info(data: &[String]) -> Info {
    let mut i = Info::default();
    for l in data {
        if let Some(v) = l.strip_prefix("VDE switch V.") {
            i.version = Some(v.trim().to_string());
        } else if l.starts_with("pid ") {
            let w: Vec<&str> = l.split_whitespace().collect();
            for pair in w.chunks(2) {
                match pair {
                    ["pid", v] => i.pid = v.parse().ok(),
                    ["MAC", v] => i.mac = Some(v.to_string()),
                    ["uptime", v] => i.uptime = v.parse().ok(),
                    _ => {}
                }
            }
        } else if let Some(v) = l.strip_prefix("Numports=") {
            i.numports = v.trim().parse().ok();
        }
    }
    i
}

/// A switch's sockets on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockEntry {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (e.g. 0o2770).
    pub mode: u32,
    /// The control socket (`ctl`) of a switch directory, or a management socket.
    pub base: bool,
}

fn entry(path: PathBuf, base: bool) -> Option<SockEntry> {
    let m = std::fs::symlink_metadata(&path).ok()?;
    Some(SockEntry { path, uid: m.uid(), gid: m.gid(), mode: m.mode() & 0o7777, base })
}

/// Whether a switch serves the data socket directory `sock` (what QEMU's `-nic vde,sock=` and
/// vde_plug connect to): its `ctl` socket accepts a connection. Nothing is sent; the switch
/// drops a peer that hangs up before its request.
pub fn data_answers(sock: &Path) -> Result<(), Failure> {
    let ctl = sock.join("ctl");
    let shown = super::failure::shown(&sock.to_string_lossy()).into_owned();
    if !is_socket(&ctl) {
        return Err(Failure::new(Kind::NotFound, format!("{shown}: no vde_switch data socket (no ctl socket in it)")));
    }
    UnixStream::connect(&ctl).map(drop).map_err(|e| Failure::new(Kind::NotFound, format!("{shown}: no switch answers: {e}")))
}

/// The switch directories in `dir` (those holding a `ctl` socket) and, with `all`, every
/// socket in them (ports) and the management sockets beside them.
pub fn sockets(dir: &Path, all: bool) -> Vec<SockEntry> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    names.sort();
    for p in names {
        if p.is_dir() && is_socket(&p.join("ctl")) {
            out.extend(entry(p.clone(), true));
            if all {
                let mut inner: Vec<PathBuf> = std::fs::read_dir(&p).into_iter().flatten().flatten().map(|e| e.path()).collect();
                inner.sort();
                out.extend(inner.into_iter().filter(|q| is_socket(q)).filter_map(|q| entry(q, false)));
            }
        } else if all && is_socket(&p) {
            out.extend(entry(p, false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn replies_as_captured() {
        // reference/vde/mgmt_info.catA.txt and mgmt_errors.catA.txt
        let r = parse_reply(&lines("0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n.\n1000 Success\n"), false).unwrap();
        assert_eq!((r.code, r.text.as_str(), r.data.len()), (1000, "Success", 3));
        let r = parse_reply(&lines("1038 Function not implemented\n"), false).unwrap();
        assert_eq!((r.code, r.data.len()), (1038, 0));
        let r = parse_reply(&lines("0000 DATA END WITH '.'\n.\n1022 Invalid argument\n"), false).unwrap();
        assert_eq!(r.code, 1022);
        let r = parse_reply(&lines("3021 port/+ 05\n3031 port/ep/+ Port 05 FD  7\n1000 Success\n"), false).unwrap();
        assert_eq!((r.code, r.notes.len()), (1000, 2));
        let r = parse_reply(&lines("9999 END OF SESSION"), true).unwrap();
        assert_eq!(r.code, 9999);
        assert_eq!(parse_reply(&lines(""), false).unwrap().code, 1000, "an empty command");
        assert_eq!(parse_reply(&lines("garbage"), false), None);
    }

    #[test]
    fn the_reader_takes_chunks_and_stops_at_the_prompt() {
        let mut r = ReplyReader::default();
        assert_eq!(r.feed(b"VDE switch V.2.3.2\n(C) Virt").unwrap(), (27, Step::More));
        let (used, step) = r.feed(b"ual\n\nvde$ 1000 Success\n").unwrap();
        assert_eq!((used, step), (10, Step::Prompt(vec!["VDE switch V.2.3.2".into(), "(C) Virtual".into(), "".into()])));
        let mut r = ReplyReader::default();
        assert_eq!(r.feed(b"9999 END OF SESSION\nrest").unwrap(), (20, Step::Ended(vec!["9999 END OF SESSION".into()])));
        let mut r = ReplyReader::default();
        assert_eq!(r.feed(b"caf\xe9").unwrap().1, Step::More);
        assert_eq!(r.eof(), vec!["caf\u{fffd}".to_string()]);
        let mut r = ReplyReader::default();
        assert_eq!(r.feed(&vec![b'x'; MAX_REPLY + 1]).unwrap_err().kind, Kind::TooLarge);
    }

    #[test]
    fn ports_and_info_as_captured() {
        let data = lines(
            "Port 0001 untagged_vlan=0000 ACTIVE - Unnamed Allocatable
 Current User: NONE Access Control: (User: NONE - Group: NONE)
 IN:  pkts         21          bytes                 1726
 OUT: pkts          0          bytes                    0
  -- endpoint ID 0006 module tuntap      : tap0
Port 0005 untagged_vlan=0000 ACTIVE - Unnamed Allocatable
 Current User: root Access Control: (User: NONE - Group: NONE)
  -- endpoint ID 0007 module unix prog   : client-tap user=root pid=11815
Port 0009 untagged_vlan=0002 INACTIVE - NOT Unnamed Allocatable",
        );
        let p = parse_ports(&data);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Port { number: 1, active: true, vlan: 0, user: None, endpoints: vec![Endpoint { id: 6, module: "tuntap".into(), description: "tap0".into() }] });
        assert_eq!(p[1].user.as_deref(), Some("root"));
        assert_eq!(p[1].endpoints[0].module, "unix prog");
        assert_eq!(p[1].endpoints[0].description, "client-tap user=root pid=11815");
        assert_eq!((p[2].active, p[2].vlan), (false, 2));
        let i = parse_info(&lines("VDE switch V.2.3.2\n(C) Virtual Square Team\n\npid 8126 MAC 00:ff:65:37:70:04 uptime 13\nmgmt /tmp/lab/vde.mgmt perm 0600\nNumports=32"));
        assert_eq!(i, Info { version: Some("2.3.2".into()), pid: Some(8126), mac: Some("00:ff:65:37:70:04".into()), uptime: Some(13), numports: Some(32) });
    }
}
