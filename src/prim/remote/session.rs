//! One SSH connection: connect, check the host key, authenticate, run commands. Every wait is
//! bounded; output is read from stdout and stderr together (non-blocking) so a full window on
//! one stream can never stall the other; a timed-out or cancelled command's process group is
//! killed on the remote side.
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags};
use ssh2::{BlockDirections, Channel, ErrorCode, HashType, Session};

use super::broadcast::{Next, Tap};
use super::known_hosts::{self, Verdict};
use super::{ErrorKind, ExecRequest, HostKeyMode, HostResult, RemoteError, Settings, Stream};

/// The first stderr line of a wrapped command carries the remote shell's pid (its process
/// group, since sshd makes it a session leader); it is stripped before anyone sees stderr.
const PID_TAG: &[u8] = b"ctys-pid:";

/// The ciphers offered, in order of preference.
const CIPHERS: &str = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";

/// libssh2's "would block".
pub(super) const EAGAIN: ErrorCode = ErrorCode::Session(-37);

/// A connected, authenticated session.
pub struct Conn {
    pub(super) sess: Session,
    tcp: TcpStream,
    pub(super) label: String,
    keepalive: Option<Duration>,
    /// Kept to reach the host again when this session stalls and a command must be killed.
    settings: Settings,
}

pub(super) fn err(kind: ErrorKind, label: &str, msg: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(kind, format!("{label}: {msg}"))
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn ms(d: Duration) -> u32 {
    d.as_millis().clamp(1, u32::MAX as u128) as u32
}

/// Connects, checks the host key, and authenticates, all within `s.connect_timeout`.
pub fn connect(s: &Settings, cancel: &AtomicBool) -> Result<Conn, RemoteError> {
    let label = s.label.as_str();
    let deadline = Instant::now() + s.connect_timeout;
    let addrs = crate::prim::resolve::socket_addrs(&s.host, s.port).map_err(|e| err(ErrorKind::Resolve, label, e))?;
    let mut last = None;
    let mut tcp = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, remaining(deadline).max(Duration::from_millis(1))) {
            Ok(t) => {
                tcp = Some(t);
                break;
            }
            Err(e) => last = Some(format!("connect {a}: {e}")),
        }
    }
    let tcp = tcp.ok_or_else(|| err(ErrorKind::Connect, label, last.unwrap_or_else(|| "no address".into())))?;
    let _ = tcp.set_nodelay(true);
    if cancel.load(Ordering::Relaxed) {
        return Err(err(ErrorKind::Cancelled, label, "cancelled"));
    }
    // libssh2's timeout bounds each read, not the whole: a peer that keeps sending bytes and
    // never finishes the handshake would hold the connection forever. A watchdog shuts the
    // socket down at the deadline (or on cancel), which ends whatever call is waiting.
    let watched = tcp.try_clone().map_err(|e| err(ErrorKind::Connect, label, e))?;
    let fired = AtomicBool::new(false);
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let sess = std::thread::scope(|scope| {
        let (w, f) = (&watched, &fired);
        scope.spawn(move || watch(w, deadline, cancel, wait, f));
        let r = establish(&tcp, s, deadline);
        drop(done);
        r
    });
    let sess = sess.map_err(|e| match fired.load(Ordering::Relaxed) {
        true if cancel.load(Ordering::Relaxed) => err(ErrorKind::Cancelled, label, "cancelled"),
        true => err(ErrorKind::Timeout, label, format_args!("no SSH session within {} s", s.connect_timeout.as_secs_f64())),
        false => e,
    })?;
    Ok(Conn { sess, tcp, label: s.label.clone(), keepalive: s.keepalive, settings: s.clone() })
}

/// Shuts `tcp` down when `deadline` passes or `cancel` is set, unless `done` comes first.
fn watch(tcp: &TcpStream, deadline: Instant, cancel: &AtomicBool, done: std::sync::mpsc::Receiver<()>, fired: &AtomicBool) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        match done.recv_timeout(remaining(deadline).min(Duration::from_millis(100))) {
            Err(RecvTimeoutError::Timeout) if cancel.load(Ordering::Relaxed) || Instant::now() >= deadline => {
                fired.store(true, Ordering::Relaxed);
                let _ = tcp.shutdown(std::net::Shutdown::Both);
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// The SSH handshake, the host key check and authentication on a connected socket.
fn establish(tcp: &TcpStream, s: &Settings, deadline: Instant) -> Result<Session, RemoteError> {
    let label = s.label.as_str();
    let mut sess = Session::new().map_err(|e| err(ErrorKind::Ssh, label, e))?;
    sess.set_tcp_stream(tcp.try_clone().map_err(|e| err(ErrorKind::Connect, label, e))?);
    // AES-GCM first: with AES-NI (OpenSSL's) it costs both ends less per byte than libssh2's
    // own chacha20-poly1305, which a copy to many hosts on one machine feels; the server picks
    // from what it offers, so an older sshd still gets one it knows.
    for dir in [ssh2::MethodType::CryptCs, ssh2::MethodType::CryptSc] {
        let _ = sess.method_pref(dir, CIPHERS);
    }
    sess.set_timeout(ms(remaining(deadline)));
    let hs_timeout = s.connect_timeout.as_secs_f64();
    sess.handshake().map_err(|e| match e.code() {
        ErrorCode::Session(-9) => err(ErrorKind::Timeout, label, format_args!("no SSH handshake within {hs_timeout} s")),
        _ => err(ErrorKind::Connect, label, format_args!("SSH handshake with {}:{} failed: {e}", s.host, s.port)),
    })?;
    check_host_key(&sess, s)?;
    sess.set_timeout(ms(remaining(deadline)));
    authenticate(&sess, s)?;
    if let Some(k) = s.keepalive {
        sess.set_keepalive(false, k.as_secs().clamp(1, u32::MAX as u64) as u32);
    }
    sess.set_timeout(0);
    Ok(sess)
}

fn check_host_key(sess: &Session, s: &Settings) -> Result<(), RemoteError> {
    let label = s.label.as_str();
    let (key, _) = sess.host_key().ok_or_else(|| err(ErrorKind::HostKey, label, "the server sent no host key"))?;
    let fp = sess.host_key_hash(HashType::Sha256).map(known_hosts::fingerprint).unwrap_or_default();
    let ktype = known_hosts::key_type(key).unwrap_or("unknown-type");
    let name = known_hosts::lookup_name(&s.host, s.port);
    let file = s.known_hosts.first().map(|p| p.display().to_string()).unwrap_or_default();
    let verdict = known_hosts::check(&s.known_hosts, &s.host, s.port, key).map_err(|e| err(ErrorKind::HostKey, label, e))?;
    let verdict = match verdict {
        // Added under a lock after checking again: a revoked or contradicted key is never written.
        Verdict::Unknown if s.host_key_mode == HostKeyMode::AcceptNew => {
            let v = known_hosts::add(&s.known_hosts, &s.host, s.port, key).map_err(|e| err(ErrorKind::HostKey, label, e))?;
            if v == Verdict::Unknown {
                log::info!("{label}: added {name} {ktype} {fp} to {file}");
                return Ok(());
            }
            v
        }
        v => v,
    };
    match verdict {
        Verdict::Known => Ok(()),
        Verdict::Revoked { file, line } => Err(err(
            ErrorKind::HostKey,
            label,
            format_args!("host key of {name} ({ktype} {fp}) is REVOKED in {}:{line}; refused", file.display()),
        )),
        _ if s.host_key_mode == HostKeyMode::Off => {
            log::warn!("{label}: host key not checked (host key mode off): {ktype} {fp}");
            Ok(())
        }
        Verdict::Changed { file, line } => Err(err(
            ErrorKind::HostKey,
            label,
            format_args!(
                "HOST KEY CHANGED for {name}: the server offers {ktype} {fp}, but {}:{line} holds another key; \
                 if the change is expected, remove that line (ssh-keygen -R '{name}' -f {})",
                file.display(),
                file.display()
            ),
        )),
        Verdict::Unknown => Err(err(
            ErrorKind::HostKey,
            label,
            format_args!(
                "host key of {name} is not known ({ktype} {fp}); refused in strict mode. If the fingerprint is right, \
                 add the key to {file} (ssh-keyscan -p {} {} >> {file}) or use host key mode accept-new",
                s.port, s.host
            ),
        )),
    }
}

fn authenticate(sess: &Session, s: &Settings) -> Result<(), RemoteError> {
    let mut tried = Vec::new();
    if s.use_agent {
        // userauth_agent() would try only the first key: offer each one.
        if let Ok(mut agent) = sess.agent() {
            if agent.connect().is_ok() && agent.list_identities().is_ok() {
                for id in agent.identities().unwrap_or_default() {
                    if agent.userauth(&s.user, &id).is_ok() && sess.authenticated() {
                        return Ok(());
                    }
                    tried.push(format!("agent key {}", id.comment()));
                }
            }
        }
    }
    for path in &s.identities {
        if !path.is_file() {
            continue;
        }
        let public = path.with_extension(match path.extension() {
            Some(e) => format!("{}.pub", e.to_string_lossy()),
            None => "pub".into(),
        });
        let public = public.is_file().then_some(public);
        match sess.userauth_pubkey_file(&s.user, public.as_deref(), path, None) {
            Ok(()) if sess.authenticated() => return Ok(()),
            Ok(()) => tried.push(path.display().to_string()),
            Err(e) if e.code() == ErrorCode::Session(-9) => {
                return Err(err(ErrorKind::Timeout, &s.label, "authentication timed out"));
            }
            Err(e) => tried.push(format!("{} ({})", path.display(), e.message())),
        }
    }
    let tried = if tried.is_empty() { "no agent key and no identity file found".to_string() } else { tried.join(", ") };
    Err(err(
        ErrorKind::Auth,
        &s.label,
        format_args!("authentication as {} on {}:{} failed: tried {tried} (no password prompt in fan-out)", s.user, s.host, s.port),
    ))
}

/// POSIX single quotes around any text.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The command line sent to sshd: the login shell reports its pid on stderr, then becomes
/// `env CTYS_RUN_TAG=TAG VARS /bin/sh -c CMD` in the same process (group), which a timeout can
/// kill whole. The tag, in the environment every process of the command inherits (a shell
/// that execs a simple command keeps it too), finds them from a new connection when the pid
/// line never arrived or the session stalled.
fn wrap(req: &ExecRequest, tag: &str) -> String {
    let env: String = req.env.iter().map(|(k, v)| format!(" {}", shell_quote(&format!("{k}={v}")))).collect();
    // `export` rather than `exec env ...`: one program fewer to start for every command.
    format!("printf 'ctys-pid:%s\\n' \"$$\" >&2; export CTYS_RUN_TAG={tag}{env}; exec /bin/sh -c {}", shell_quote(&req.cmd))
}

/// Tenths of a second a remote command gets between SIGTERM and SIGKILL.
const KILL_GRACE_TENTHS: u32 = 20;

/// The remote shell script that ends a command: SIGTERM to each process `find` prints and to
/// its process group, then SIGKILL for whatever still runs after the grace period (nothing
/// printed: there is nothing to end).
fn killer(find: &str) -> String {
    format!(
        "ps=$({find}); [ -n \"$ps\" ] || exit 0; \
         for p in $ps; do kill -TERM -- -$p 2>/dev/null; kill -TERM $p 2>/dev/null; done; \
         up() {{ for p in $ps; do kill -0 $p 2>/dev/null && return 0; done; return 1; }}; i=0; \
         while [ $i -lt {KILL_GRACE_TENTHS} ] && up; do sleep 0.1; i=$((i+1)); done; \
         if up; then for p in $ps; do kill -KILL -- -$p 2>/dev/null; kill -KILL $p 2>/dev/null; done; echo killed; else echo terminated; fi"
    )
}

/// A shell snippet printing the pids whose environment holds the command's tag (this script's
/// own processes do not have it).
fn tagged(tag: &str) -> String {
    format!(
        "for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$e\" 2>/dev/null | grep -qx 'CTYS_RUN_TAG={tag}' && \
         {{ d=${{e%/environ}}; echo ${{d#/proc/}}; }}; done"
    )
}

/// Splits the pid line off the front of stderr.
#[derive(Default)]
pub struct PidLine {
    done: bool,
    buf: Vec<u8>,
    pub pid: Option<u32>,
}

impl PidLine {
    /// Takes stderr bytes; returns those that belong to the command's own stderr.
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if self.done {
            return data.into();
        }
        self.buf.extend_from_slice(data);
        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() > 64 || !PID_TAG.starts_with(&self.buf[..self.buf.len().min(PID_TAG.len())]) {
                // Not our line after all (a login shell that printed first): pass it through.
                self.done = true;
                return std::mem::take(&mut self.buf).into();
            }
            return Vec::new().into();
        };
        self.done = true;
        let line = &self.buf[..nl];
        if let Some(rest) = line.strip_prefix(PID_TAG) {
            self.pid = std::str::from_utf8(rest).ok().and_then(|s| s.trim().parse().ok());
            self.buf.drain(..=nl);
        }
        std::mem::take(&mut self.buf).into()
    }

    /// What is left when stderr ended.
    pub fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.buf)
    }
}

pub(super) fn would_block(e: &std::io::Error) -> bool {
    e.kind() == IoKind::WouldBlock
}

/// Retries a non-blocking libssh2 call until it stops saying EAGAIN or the deadline passes.
pub(super) fn retry<T>(conn: &Conn, deadline: Instant, mut f: impl FnMut() -> Result<T, ssh2::Error>) -> Result<T, ssh2::Error> {
    loop {
        match f() {
            Err(e) if e.code() == EAGAIN && Instant::now() < deadline => conn.wait_socket(Duration::from_millis(50)),
            other => return other,
        }
    }
}

impl Conn {
    /// The session and its socket, for the console's own I/O loop (it also polls stdin).
    pub(super) fn parts(&self) -> (&Session, &TcpStream) {
        (&self.sess, &self.tcp)
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on, at most `d`.
    fn wait_socket(&self, d: Duration) {
        self.wait_socket_or(d, None);
    }

    /// As wait_socket, or until `also` is readable.
    fn wait_socket_or(&self, d: Duration, also: Option<BorrowedFd<'_>>) {
        let dirs = self.sess.block_directions();
        let mut flags = PollFlags::empty();
        if matches!(dirs, BlockDirections::Inbound | BlockDirections::Both | BlockDirections::None) {
            flags |= PollFlags::POLLIN;
        }
        if matches!(dirs, BlockDirections::Outbound | BlockDirections::Both) {
            flags |= PollFlags::POLLOUT;
        }
        let mut fds = vec![PollFd::new(self.tcp.as_fd(), flags)];
        fds.extend(also.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        let _ = poll(&mut fds, u16::try_from(d.as_millis()).unwrap_or(u16::MAX));
    }

    /// Runs one command. `sink` sees output as it arrives (stderr without the pid line);
    /// the result holds all of it, also when the command timed out or was cancelled. The
    /// timeout covers opening the channel and starting the command too; without one, those
    /// two get the connect timeout.
    /// `feed`: where the command's stdin comes from when `req.stdin_feed` is set (this host's
    /// reader of it).
    pub fn exec(&self, req: &ExecRequest, mut feed: Option<&mut Tap>, cancel: &AtomicBool, sink: &mut dyn FnMut(Stream, &[u8])) -> HostResult {
        let mut out = HostResult::default();
        let label = self.label.clone();
        let deadline = req.timeout.map(|t| Instant::now() + t);
        let start_by = deadline.unwrap_or_else(|| Instant::now() + self.settings.connect_timeout);
        let tag = format!("{:016x}", rand::random::<u64>());
        self.sess.set_blocking(true);
        self.sess.set_timeout(ms(remaining(start_by)));
        // Whether the exec request may have reached the host (then a failure must end it).
        let asked = std::cell::Cell::new(false);
        let started = (|| -> Result<Channel, ssh2::Error> {
            let mut ch = self.sess.channel_session()?;
            asked.set(true);
            if req.pty {
                ch.request_pty("xterm", None, Some((80, 24, 0, 0)))?;
                let env: String = req.env.iter().map(|(k, v)| format!("{} ", shell_quote(&format!("{k}={v}")))).collect();
                ch.exec(&format!("{}{}", if env.is_empty() { String::new() } else { format!("env {env}") }, req.cmd))?;
            } else {
                ch.exec(&wrap(req, &tag))?;
            }
            Ok(ch)
        })();
        let mut ch = match started {
            Ok(ch) => ch,
            Err(e) => {
                self.sess.set_timeout(0);
                let stalled = e.code() == ErrorCode::Session(-9);
                // The command may have started before the session stalled: end it by its tag.
                let killed = if req.pty || !asked.get() { String::new() } else { format!("; {}", self.kill_by_tag(&tag)) };
                let (kind, msg) = if stalled {
                    let secs = req.timeout.unwrap_or(self.settings.connect_timeout).as_secs_f64();
                    (ErrorKind::Timeout, format!("the command did not start within {secs} s{killed}"))
                } else {
                    (ErrorKind::Ssh, format!("cannot start the command: {e}{killed}"))
                };
                out.error = Some(err(kind, &label, msg));
                return out;
            }
        };
        out.started = true;
        self.sess.set_timeout(0);
        self.sess.set_blocking(false);
        let mut pid = PidLine { done: req.pty, ..Default::default() };
        let mut stdin_off = 0usize;
        let (mut input_done, mut eof_sent) = (false, false);
        let mut buf = vec![0u8; 32 * 1024];
        let mut next_keepalive = Instant::now();
        let (mut out_eof, mut err_eof) = (false, false);
        let max_output = req.max_output.unwrap_or(super::DEFAULT_MAX_OUTPUT);
        let failure = loop {
            let mut progress = false;
            let mut awaiting_input = false;
            if !input_done {
                let next = match feed.as_deref_mut() {
                    Some(tap) => tap.next(),
                    None if stdin_off < req.stdin.len() => Next::Data(&req.stdin[stdin_off..]),
                    None => Next::End,
                };
                let sent = match next {
                    Next::Data(d) => match ch.write(d) {
                        Ok(n) => Some(n),
                        Err(e) if would_block(&e) => Some(0),
                        // The command may exit without reading its stdin; that is its business.
                        Err(_) => None,
                    },
                    Next::Wait => {
                        awaiting_input = true;
                        Some(0)
                    }
                    Next::End => None,
                    Next::Cut => break Some((ErrorKind::TooLarge, format!(
                        "standard input passed {} MiB before this host's turn came: raise the fan-out to the number of hosts",
                        super::broadcast::CAP >> 20
                    ))),
                };
                match sent {
                    Some(n) => {
                        progress |= n > 0;
                        match feed.as_deref_mut() {
                            Some(tap) => tap.advance(n),
                            None => stdin_off += n,
                        }
                    }
                    None => {
                        if let Some(tap) = feed.as_deref_mut() {
                            tap.leave();
                        }
                        input_done = true;
                    }
                }
            }
            if input_done && !eof_sent {
                match ch.send_eof() {
                    Err(e) if e.code() == EAGAIN => {}
                    _ => eof_sent = true,
                }
            }
            for (stream, done) in [(Stream::Stdout, &mut out_eof), (Stream::Stderr, &mut err_eof)] {
                // A fast writer keeps the channel readable: the bound is checked per read, so
                // what is kept never passes it by more than one buffer.
                while !*done && out.outcome.stdout.len() + out.outcome.stderr.len() <= max_output {
                    let r = match stream {
                        Stream::Stdout => ch.read(&mut buf),
                        Stream::Stderr => ch.stderr().read(&mut buf),
                    };
                    match r {
                        Ok(0) => {
                            if ch.eof() {
                                *done = true;
                            }
                            break;
                        }
                        Ok(n) => {
                            progress = true;
                            let data = match stream {
                                Stream::Stdout => std::borrow::Cow::Borrowed(&buf[..n]),
                                Stream::Stderr => pid.feed(&buf[..n]),
                            };
                            if !data.is_empty() {
                                sink(stream, &data);
                                match stream {
                                    Stream::Stdout if req.sink_stdout_only => {}
                                    Stream::Stdout => out.outcome.stdout.extend_from_slice(&data),
                                    Stream::Stderr => out.outcome.stderr.extend_from_slice(&data),
                                }
                            }
                        }
                        Err(e) if would_block(&e) => break,
                        Err(e) => {
                            if out.error.is_none() {
                                out.error = Some(err(ErrorKind::Ssh, &label, format_args!("reading output: {e}")));
                            }
                            *done = true;
                        }
                    }
                }
            }
            if out.outcome.stdout.len() + out.outcome.stderr.len() > max_output {
                break Some((ErrorKind::TooLarge, format!("more than {max_output} bytes of output")));
            }
            if out_eof && err_eof {
                break None;
            }
            if out.error.is_some() {
                break None;
            }
            if cancel.load(Ordering::Relaxed) {
                break Some((ErrorKind::Cancelled, "cancelled".to_string()));
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    let secs = req.timeout.unwrap_or_default().as_secs_f64();
                    break Some((ErrorKind::Timeout, format!("command timed out after {secs} s")));
                }
            }
            if self.keepalive.is_some() && Instant::now() >= next_keepalive {
                if let Ok(secs) = self.sess.keepalive_send() {
                    next_keepalive = Instant::now() + Duration::from_secs(secs.max(1).into());
                }
            }
            if !progress {
                let wait = deadline.map_or(Duration::from_millis(100), |d| remaining(d).min(Duration::from_millis(100)));
                self.wait_socket_or(wait, feed.as_deref().filter(|_| awaiting_input).map(Tap::wake_fd));
            }
        };
        let rest = pid.finish();
        if !rest.is_empty() {
            sink(Stream::Stderr, &rest);
            out.outcome.stderr.extend_from_slice(&rest);
        }
        if let Some((kind, msg)) = failure {
            let killed = match pid.pid {
                Some(p) => self.kill(p).unwrap_or_else(|e| format!("{e}; {}", self.kill_by_tag(&tag))),
                None if req.pty => "the remote command could not be signalled (pty sessions end when the channel closes)".into(),
                None => self.kill_by_tag(&tag),
            };
            out.error = Some(err(kind, &label, format_args!("{msg}; {killed}")));
        }
        let close_by = Instant::now() + Duration::from_secs(2);
        let _ = retry(self, close_by, || ch.close());
        let _ = retry(self, close_by, || ch.wait_close());
        if let Ok(sig) = ch.exit_signal() {
            out.outcome.signal = sig.exit_signal;
        }
        if out.outcome.signal.is_none() && out.error.is_none() {
            out.outcome.status = ch.exit_status().ok();
        }
        out
    }

    /// Ends the remote process group `pid` over a second channel of this session (SIGTERM,
    /// SIGKILL after the grace period); says what it did, or why it could not.
    fn kill(&self, pid: u32) -> Result<String, String> {
        self.sess.set_blocking(true);
        let said = run_killer(&self.sess, &killer(&format!("echo {pid}")));
        self.sess.set_blocking(false);
        self.sess.set_timeout(0);
        said.map(|how| format!("remote process group {pid} {how}")).map_err(|e| format!("could not signal remote process group {pid}: {e}"))
    }

    /// Ends the command tagged `tag` from a new connection (this session may be stalled).
    fn kill_by_tag(&self, tag: &str) -> String {
        let mut s = self.settings.clone();
        s.connect_timeout = s.connect_timeout.min(Duration::from_secs(3));
        let never = AtomicBool::new(false);
        let said = connect(&s, &never).map_err(|e| e.message).and_then(|c| {
            c.sess.set_blocking(true);
            run_killer(&c.sess, &killer(&tagged(tag))).map_err(|e| e.to_string())
        });
        match said {
            Ok(how) if how.is_empty() => "the remote command was not running".into(),
            Ok(how) => format!("remote command {how} (found by its tag over a new connection)"),
            Err(e) => format!("could not reach the host again to end the remote command: {e}"),
        }
    }
}

/// Runs a killer script on a fresh channel of a blocking session; what it printed
/// (`terminated`, `killed`, or nothing when there was nothing to end). A session that does not
/// open the channel within a second is given up on (it may be the stalled one).
fn run_killer(sess: &Session, script: &str) -> Result<String, ssh2::Error> {
    sess.set_timeout(1000);
    let mut ch = sess.channel_session()?;
    ch.exec(script)?;
    sess.set_timeout(1000 + KILL_GRACE_TENTHS * 100);
    let mut said = String::new();
    let _ = ch.read_to_string(&mut said);
    ch.wait_close()?;
    Ok(match said.trim() {
        "killed" => "sent SIGTERM, then SIGKILL".to_string(),
        "terminated" => "sent SIGTERM".to_string(),
        _ => String::new(),
    })
}

impl Conn {
    /// The host as the caller named it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Sends a keepalive on an idle session; false when the session is gone.
    pub fn keepalive(&self) -> bool {
        self.sess.set_blocking(true);
        self.sess.set_timeout(2000);
        let ok = self.sess.keepalive_send().is_ok();
        self.sess.set_timeout(0);
        ok
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.sess.set_blocking(true);
        self.sess.set_timeout(1000);
        let _ = self.sess.disconnect(None, "ctys done", None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        let req = ExecRequest { cmd: "echo 'a b'".into(), env: vec![("K".into(), "v w".into())], ..Default::default() };
        assert_eq!(wrap(&req, "00ab"), r#"printf 'ctys-pid:%s\n' "$$" >&2; export CTYS_RUN_TAG=00ab 'K=v w'; exec /bin/sh -c 'echo '\''a b'\'''"#);
    }

    #[test]
    fn pid_line_is_split_off_across_chunks() {
        let mut p = PidLine::default();
        assert!(p.feed(b"ctys-p").is_empty());
        assert_eq!(&*p.feed(b"id:123\nerr"), b"err");
        assert_eq!(p.pid, Some(123));
        assert_eq!(&*p.feed(b"more"), b"more");
        let mut q = PidLine::default();
        assert_eq!(&*q.feed(b"motd first\n"), b"motd first\n");
        assert_eq!(q.pid, None);
        let mut r = PidLine::default();
        assert!(r.feed(b"ctys-pid:9").is_empty());
        assert_eq!(r.finish(), b"ctys-pid:9");
    }
}
