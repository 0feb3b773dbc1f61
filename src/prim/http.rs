//! A small HTTPS/1.1 client for BMC APIs (Redfish): OpenSSL (the TLS stack libssh2 links
//! already) and httparse for the response head. One request at a time; every wait bounded by
//! the request's deadline (a server that trickles cannot hold it longer); heads and bodies
//! bounded, a larger body refused before it is read. The certificate is verified against the
//! system store or a CA file, with the host name or address checked; unverified only when asked.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::{SslConnector, SslMethod, SslOptions, SslStream, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use zeroize::Zeroizing;

use super::failure::{Failure, Kind};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// PEM file of the CA (or the self-signed certificate) to trust instead of the system store.
    pub ca: Option<PathBuf>,
    /// No verification at all (the caller warns).
    pub insecure: bool,
}

/// The most a response head may hold.
const MAX_HEAD: usize = 64 << 10;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value (names compare without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    host: String,
    port: u16,
    connector: SslConnector,
    insecure: bool,
    /// Why the last certificate was refused: its subject and OpenSSL's reason.
    refused: Arc<Mutex<Option<String>>>,
    conn: Option<SslStream<TcpStream>>,
    pub timeout: Duration,
    pub max_body: usize,
    label: String,
}

fn fail(kind: Kind, label: &str, msg: impl std::fmt::Display) -> Failure {
    Failure::new(kind, if label.is_empty() { msg.to_string() } else { format!("{label}: {msg}") })
}

impl Client {
    /// A client for `https://host:port`; nothing connects yet. A CA file that cannot be read
    /// fails here.
    pub fn new(host: &str, port: u16, tls: &Tls, timeout: Duration, label: &str) -> Result<Client, Failure> {
        Ok(Client {
            host: host.to_string(),
            port,
            connector: connector(tls, label)?,
            insecure: tls.insecure,
            refused: Arc::new(Mutex::new(None)),
            conn: None,
            timeout,
            max_body: 16 << 20,
            label: label.to_string(),
        })
    }

    fn connect(&mut self, deadline: Instant) -> Result<SslStream<TcpStream>, Failure> {
        let label = self.label.clone();
        let addrs = super::resolve::socket_addrs(&self.host, self.port).map_err(|e| fail(Kind::Resolve, &label, e))?;
        let mut last = None;
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, left(deadline, &label)?) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            let e = last.map_or_else(|| "no address".to_string(), |e| e.to_string());
            let kind = if e.contains("timed out") { Kind::Timeout } else { Kind::Connect };
            fail(kind, &label, format_args!("connect {}:{}: {e}", self.host, self.port))
        })?;
        tcp.set_nodelay(true).ok();
        tcp.set_read_timeout(Some(left(deadline, &label)?)).ok();
        tcp.set_write_timeout(Some(left(deadline, &label)?)).ok();
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut cfg = self.connector.configure().map_err(|e| fail(Kind::Io, &label, format_args!("TLS: {e}")))?;
        if !self.insecure {
            let seen = self.refused.clone();
            cfg.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
                if !ok {
                    let subject = ctx.current_cert().map(|c| {
                        c.subject_name().entries().map(|e| format!("{}={}", e.object().nid().short_name().unwrap_or("?"), e.data().to_string().unwrap_or_default())).collect::<Vec<_>>().join(",")
                    });
                    *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("certificate '{}' not trusted: {}", subject.unwrap_or_default(), ctx.error().error_string()));
                }
                ok
            });
        }
        let cfg = cfg.verify_hostname(!self.insecure);
        let host = self.host.trim_start_matches('[').trim_end_matches(']').to_string();
        cfg.connect(&host, tcp).map_err(|e| {
            if let Some(why) = self.refused.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return fail(Kind::Untrusted, &label, format_args!("TLS: {why} (give the CA with --ca FILE, or --insecure)"));
            }
            let text = e.to_string();
            let kind = if text.contains("timed out") || text.contains("WouldBlock") || text.contains("Resource temporarily") { Kind::Timeout } else { Kind::Protocol };
            fail(kind, &label, format_args!("TLS handshake: {text}"))
        })
    }

    /// One request; `path` starts with '/'. A response of any status is Ok; the transport's
    /// failures (connect, TLS, timeout, a malformed or too large response) are Err. A kept
    /// connection the server closed meanwhile is replaced once, before anything was read.
    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Result<Response, Failure> {
        let deadline = Instant::now() + self.timeout;
        let host = if self.host.contains(':') && !self.host.starts_with('[') { format!("[{}]", self.host) } else { self.host.clone() };
        let mut req = Zeroizing::new(Vec::with_capacity(512));
        let _ = write!(req, "{method} {path} HTTP/1.1\r\nHost: {host}:{}\r\nUser-Agent: ctys\r\nAccept: application/json\r\nOData-Version: 4.0\r\n", self.port);
        for (k, v) in headers {
            let _ = write!(req, "{k}: {v}\r\n");
        }
        if let Some(b) = body {
            let _ = write!(req, "Content-Type: application/json\r\nContent-Length: {}\r\n", b.len());
        }
        req.extend_from_slice(b"\r\n");
        if let Some(b) = body {
            req.extend_from_slice(b);
        }
        let mut reused = self.conn.is_some();
        loop {
            let mut s = match self.conn.take() {
                Some(s) => s,
                None => self.connect(deadline)?,
            };
            s.get_ref().set_read_timeout(Some(left(deadline, &self.label)?)).ok();
            let r = match s.write_all(&req).and_then(|_| s.flush()) {
                Ok(()) => self.read_response(&mut s, method, deadline),
                Err(e) => Err(Failed::Io(e, true)),
            };
            match r {
                Ok((resp, keep)) => {
                    if keep {
                        self.conn = Some(s);
                    }
                    return Ok(resp);
                }
                Err(Failed::Io(_, true)) if std::mem::take(&mut reused) => continue,
                Err(Failed::Io(e, _)) => {
                    let kind = if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) { Kind::Timeout } else { Kind::Io };
                    let msg = if kind == Kind::Timeout { format!("no answer within {} s", self.timeout.as_secs_f64()) } else { e.to_string() };
                    return Err(fail(kind, &self.label, format_args!("{method} {path}: {msg}")));
                }
                Err(Failed::Bad(kind, msg)) => return Err(fail(kind, &self.label, format_args!("{method} {path}: {msg}"))),
            }
        }
    }

    /// The response and whether the connection may carry another request.
    fn read_response(&self, s: &mut SslStream<TcpStream>, method: &str, deadline: Instant) -> Result<(Response, bool), Failed> {
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 16 << 10];
        let (status, headers, head_len) = loop {
            let n = read_some(s, &mut chunk, deadline).map_err(|e| Failed::Io(e, buf.is_empty()))?;
            if n == 0 {
                if buf.is_empty() {
                    return Err(Failed::Io(std::io::ErrorKind::UnexpectedEof.into(), true));
                }
                return Err(Failed::Bad(Kind::Protocol, "the connection closed inside the response head".into()));
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut hs = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut hs);
            match r.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let headers: Vec<(String, String)> = r.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned())).collect();
                    let keep = r.version == Some(1);
                    break (r.code.unwrap_or(0), (headers, keep), len);
                }
                Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => {}
                Ok(httparse::Status::Partial) => return Err(Failed::Bad(Kind::TooLarge, format!("a response head over {} KiB", MAX_HEAD >> 10))),
                Err(e) => return Err(Failed::Bad(Kind::Protocol, format!("not an HTTP response ({e})"))),
            }
        };
        let (headers, mut keep) = headers;
        let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_ascii_lowercase());
        if get("connection").is_some_and(|c| c.contains("close")) {
            keep = false;
        }
        let mut body = buf.split_off(head_len);
        let no_body = method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status);
        if no_body {
            body.clear();
        } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            body = self.read_chunked(s, body, deadline)?;
        } else if let Some(len) = get("content-length") {
            let len: usize = len.parse().map_err(|_| Failed::Bad(Kind::Protocol, format!("bad Content-Length {len:?}")))?;
            if len > self.max_body {
                return Err(Failed::Bad(Kind::TooLarge, format!("a {len}-byte body (the most taken is {})", self.max_body)));
            }
            while body.len() < len {
                let n = read_some(s, &mut chunk, deadline).map_err(|e| Failed::Io(e, false))?;
                if n == 0 {
                    return Err(Failed::Bad(Kind::Protocol, format!("the body ended after {} of {len} bytes", body.len())));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        } else {
            keep = false;
            loop {
                let n = read_some(s, &mut chunk, deadline).map_err(|e| Failed::Io(e, false))?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
                if body.len() > self.max_body {
                    return Err(Failed::Bad(Kind::TooLarge, format!("a body over {} bytes", self.max_body)));
                }
            }
        }
        Ok((Response { status, headers, body }, keep))
    }

    /// A chunked body, bounded like any other.
    fn read_chunked(&self, s: &mut SslStream<TcpStream>, mut have: Vec<u8>, deadline: Instant) -> Result<Vec<u8>, Failed> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 16 << 10];
        let mut more = |have: &mut Vec<u8>| -> Result<(), Failed> {
            let n = read_some(s, &mut chunk, deadline).map_err(|e| Failed::Io(e, false))?;
            if n == 0 {
                return Err(Failed::Bad(Kind::Protocol, "the connection closed inside a chunked body".into()));
            }
            have.extend_from_slice(&chunk[..n]);
            Ok(())
        };
        loop {
            let line_end = loop {
                if let Some(i) = have.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if have.len() > 1024 {
                    return Err(Failed::Bad(Kind::Protocol, "a chunk size line over 1 KiB".into()));
                }
                more(&mut have)?;
            };
            let line = String::from_utf8_lossy(&have[..line_end]).to_string();
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).map_err(|_| Failed::Bad(Kind::Protocol, format!("bad chunk size {:?}", super::failure::shown(&line))))?;
            have.drain(..line_end + 2);
            if size == 0 {
                return Ok(out);
            }
            if out.len().saturating_add(size) > self.max_body {
                return Err(Failed::Bad(Kind::TooLarge, format!("a body over {} bytes", self.max_body)));
            }
            while have.len() < size + 2 {
                more(&mut have)?;
            }
            out.extend_from_slice(&have[..size]);
            have.drain(..size + 2);
        }
    }
}

/// The TLS context for a trust setting, made once a process: building one reads the system's
/// CA store (milliseconds of PEM parsing), which sixteen BMCs at once must not pay sixteen times.
fn connector(tls: &Tls, label: &str) -> Result<SslConnector, Failure> {
    static MADE: Mutex<Vec<((Option<PathBuf>, bool), SslConnector)>> = Mutex::new(Vec::new());
    let key = (tls.ca.clone(), tls.insecure);
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = made.iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| fail(Kind::Io, label, format_args!("TLS: {e}")))?;
    // Servers that close without a TLS close_notify (werkzeug does) end a body read to EOF.
    b.set_options(SslOptions::IGNORE_UNEXPECTED_EOF);
    if tls.insecure {
        b.set_verify(SslVerifyMode::NONE);
    } else if let Some(ca) = &tls.ca {
        // Only this file is trusted, not the system store SslConnector::builder loaded.
        let pem = super::fs::read(ca, 1 << 20, None).map_err(|e| fail(e.kind, label, format_args!("CA file: {}", e.message)))?;
        let pem = pem.ok_or_else(|| fail(Kind::NotFound, label, format_args!("CA file {}: no such file", super::failure::shown(&ca.display().to_string()))))?;
        let certs = X509::stack_from_pem(&pem).ok().filter(|c| !c.is_empty());
        let certs = certs.ok_or_else(|| fail(Kind::Invalid, label, format_args!("CA file {}: no PEM certificate in it", ca.display())))?;
        let mut store = X509StoreBuilder::new().map_err(|e| fail(Kind::Io, label, format_args!("TLS: {e}")))?;
        for c in certs {
            store.add_cert(c).map_err(|e| fail(Kind::Invalid, label, format_args!("CA file {}: {e}", ca.display())))?;
        }
        b.set_cert_store(store.build());
    }
    let c = b.build();
    made.push((key, c.clone()));
    Ok(c)
}

/// A failed read: an I/O error (and whether nothing of the response had come yet), or a
/// response that is wrong.
enum Failed {
    Io(std::io::Error, bool),
    Bad(Kind, String),
}

fn left(deadline: Instant, label: &str) -> Result<Duration, Failure> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err(fail(Kind::Timeout, label, "no answer in the time allowed"));
    }
    Ok(d)
}

/// One read, its wait cut to what is left of the deadline.
fn read_some(s: &mut SslStream<TcpStream>, buf: &mut [u8], deadline: Instant) -> std::io::Result<usize> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err(std::io::ErrorKind::TimedOut.into());
    }
    s.get_ref().set_read_timeout(Some(d))?;
    match s.read(buf) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => Ok(0),
        other => other,
    }
}
