//! The gateway protocol: how a controller hands hosts to `ctys --gateway` on another host and
//! hears back from it, over the stdin and stdout of an SSH command. Frames are a 4-byte
//! big-endian length, a kind byte and a body, at most MAX_FRAME; the controller sends a hello
//! (`ctys-gateway <version>`) and one request (JSON: the hosts, each with the gateways still
//! between it and the gateway, the command, its options); the gateway answers its own hello,
//! then per-host events as they happen (start, output chunks, the end with status or error
//! and its kind) and an end record. A request this version does not speak is refused with a
//! fatal record naming both versions.
use std::time::Duration;

use serde_json::{json, Value};

use super::copy::{Copied, Put};
use super::fanout::End;
use super::{ErrorKind, HostKeyMode, Overrides, RemoteError, Target};

pub const VERSION: u32 = 1;
/// The most bytes one frame (kind and body) may have; output travels in chunks well below it.
pub const MAX_FRAME: usize = 16 << 20;
/// The most bytes of output one chunk frame carries.
pub const CHUNK: usize = 64 << 10;
/// The most gateways between a controller and a host.
pub const MAX_DEPTH: usize = 8;

pub const HELLO: u8 = b'H';
pub const REQUEST: u8 = b'Q';
pub const START: u8 = b'S';
pub const STDOUT: u8 = b'O';
pub const STDERR: u8 = b'E';
pub const DONE: u8 = b'X';
pub const END: u8 = b'Z';
pub const FATAL: u8 = b'F';

/// One frame, ready to write.
pub fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(5 + body.len());
    f.extend_from_slice(&(body.len() as u32 + 1).to_be_bytes());
    f.push(kind);
    f.extend_from_slice(body);
    f
}

/// A frame about host `idx` (start, output, end): its index first.
pub fn host_frame(kind: u8, idx: usize, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + body.len());
    b.extend_from_slice(&(idx as u32).to_be_bytes());
    b.extend_from_slice(body);
    frame(kind, &b)
}

/// The hello each side sends first.
pub fn hello() -> Vec<u8> {
    frame(HELLO, format!("ctys-gateway {VERSION}").as_bytes())
}

/// Checks the other side's hello.
pub fn check_hello(body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    match text.strip_prefix("ctys-gateway ").and_then(|v| v.parse::<u32>().ok()) {
        Some(VERSION) => Ok(()),
        Some(v) => Err(format!("gateway protocol {v} on the other side, {VERSION} here: run the same ctys on both (ctys-distribute)")),
        None => Err(format!("not a ctys gateway: it said {:?}", super::super::failure::shown(&text))),
    }
}

/// Cuts a byte stream into frames as it arrives.
#[derive(Default)]
pub struct Frames {
    buf: Vec<u8>,
}

impl Frames {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame (kind, body), None until one is there; an oversized or empty
    /// frame is an error (the stream is not a gateway's, or is broken).
    pub fn next(&mut self) -> Result<Option<(u8, Vec<u8>)>, String> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len == 0 || len > MAX_FRAME {
            return Err(format!("a frame of {len} bytes (1-{MAX_FRAME} allowed): not a ctys gateway's stream"));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let kind = self.buf[4];
        let body = self.buf[5..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some((kind, body)))
    }

    /// Bytes received that are not a whole frame yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Splits a host frame's body into the host's index and the rest.
pub fn split_host(body: &[u8]) -> Result<(usize, &[u8]), String> {
    if body.len() < 4 {
        return Err("a host frame without its host".into());
    }
    Ok((u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize, &body[4..]))
}

/// A host and the gateways between it and whoever sends the request: one list of candidates
/// per level, nearest first (any candidate of a level reaches the next level).
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    pub target: Target,
    pub via: Vec<Vec<String>>,
}

/// What a gateway is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub hosts: Vec<Routed>,
    pub cmd: String,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub max_output: Option<usize>,
    pub fanout: usize,
    /// user, port, connect timeout and host key mode (identity and known_hosts files are the
    /// gateway's own).
    pub overrides: Overrides,
    /// How the gateway starts the next level's gateways (without `--gateway`).
    pub gateway_cmd: String,
    /// A copy instead of `cmd`: its sources are paths on the gateway (staged there).
    pub copy: Option<Put>,
}

fn mode_name(m: HostKeyMode) -> &'static str {
    match m {
        HostKeyMode::Strict => "strict",
        HostKeyMode::AcceptNew => "accept-new",
        HostKeyMode::Off => "off",
    }
}

fn target_json(t: &Target) -> Value {
    json!({ "host": t.host, "user": t.user, "port": t.port })
}

/// The request frame for `job`.
pub fn encode_job(job: &Job) -> Vec<u8> {
    let o = &job.overrides;
    let hosts: Vec<Value> = job.hosts.iter().map(|h| json!({ "target": target_json(&h.target), "via": h.via })).collect();
    let v = json!({
        "version": VERSION, "hosts": hosts, "cmd": job.cmd,
        "env": job.env.iter().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
        "timeout": job.timeout.map(|d| d.as_secs_f64()), "max_output": job.max_output, "fanout": job.fanout,
        "user": o.user, "port": o.port, "connect_timeout": o.connect_timeout.map(|d| d.as_secs_f64()),
        "strict": o.host_key_mode.map(mode_name), "gateway_cmd": job.gateway_cmd,
        "copy": job.copy.as_ref().map(|p| json!({
            "srcs": p.srcs.iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>(), "dest": p.dest, "mode": p.mode,
            "preserve": p.preserve, "op_timeout": p.op_timeout.as_secs_f64(),
        })),
    });
    frame(REQUEST, v.to_string().as_bytes())
}

fn bad(what: &str) -> String {
    format!("bad request: {what}")
}

fn text(v: &Value, what: &str, max: usize) -> Result<String, String> {
    match v.as_str() {
        Some(s) if s.len() <= max => Ok(s.to_string()),
        _ => Err(bad(&format!("{what}: expected text of at most {max} bytes"))),
    }
}

fn opt_text(v: &Value, what: &str) -> Result<Option<String>, String> {
    if v.is_null() { Ok(None) } else { text(v, what, 255).map(Some) }
}

fn opt_port(v: &Value, what: &str) -> Result<Option<u16>, String> {
    match v {
        Value::Null => Ok(None),
        _ => v.as_u64().filter(|p| (1..=65535).contains(p)).map(|p| Some(p as u16)).ok_or_else(|| bad(&format!("{what}: a port 1-65535"))),
    }
}

fn opt_secs(v: &Value, what: &str) -> Result<Option<Duration>, String> {
    match v {
        Value::Null => Ok(None),
        _ => v.as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok()).map(Some).ok_or_else(|| bad(&format!("{what}: seconds"))),
    }
}

fn target_of(v: &Value) -> Result<Target, String> {
    Ok(Target { host: text(&v["host"], "hosts[].target.host", 1024)?, user: opt_text(&v["user"], "user")?, port: opt_port(&v["port"], "port")? })
}

/// A request frame's body, checked: every field of the right type and size.
pub fn decode_job(body: &[u8]) -> Result<Job, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    match v["version"].as_u64() {
        Some(n) if n == u64::from(VERSION) => {}
        n => return Err(format!("gateway protocol {} asked for, {VERSION} here: run the same ctys on both (ctys-distribute)", n.map_or("?".into(), |n| n.to_string()))),
    }
    let hosts = v["hosts"].as_array().filter(|h| h.len() <= 1_000_000).ok_or_else(|| bad("hosts: a list"))?;
    let hosts = hosts
        .iter()
        .map(|h| {
            let via = h["via"].as_array().filter(|l| l.len() <= MAX_DEPTH).ok_or_else(|| bad("hosts[].via: a list of levels"))?;
            let via = via
                .iter()
                .map(|level| match level.as_array() {
                    Some(c) if !c.is_empty() => c.iter().map(|g| text(g, "a gateway", 1024)).collect(),
                    _ => Err(bad("hosts[].via: each level a non-empty list of gateways")),
                })
                .collect::<Result<_, _>>()?;
            Ok(Routed { target: target_of(&h["target"])?, via })
        })
        .collect::<Result<_, String>>()?;
    let env = match v["env"].as_array() {
        Some(list) => list
            .iter()
            .map(|kv| match (kv[0].as_str(), kv[1].as_str()) {
                (Some(k), Some(val)) => Ok((k.to_string(), val.to_string())),
                _ => Err(bad("env: [name, value] pairs")),
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let strict = match &v["strict"] {
        Value::Null => None,
        m => Some(m.as_str().and_then(HostKeyMode::parse).ok_or_else(|| bad("strict"))?),
    };
    Ok(Job {
        hosts,
        cmd: text(&v["cmd"], "cmd", 1 << 20)?,
        env,
        timeout: opt_secs(&v["timeout"], "timeout")?,
        max_output: match &v["max_output"] {
            Value::Null => None,
            m => Some(m.as_u64().ok_or_else(|| bad("max_output"))? as usize),
        },
        fanout: v["fanout"].as_u64().filter(|f| *f >= 1).ok_or_else(|| bad("fanout: 1 or more"))?.min(100_000) as usize,
        overrides: Overrides {
            user: opt_text(&v["user"], "user")?,
            port: opt_port(&v["port"], "port")?,
            connect_timeout: opt_secs(&v["connect_timeout"], "connect_timeout")?,
            host_key_mode: strict,
            ..Default::default()
        },
        gateway_cmd: text(&v["gateway_cmd"], "gateway_cmd", 4096)?,
        copy: match &v["copy"] {
            Value::Null => None,
            c => Some(Put {
                srcs: c["srcs"].as_array().filter(|s| !s.is_empty() && s.len() <= 4096).ok_or_else(|| bad("copy.srcs: a list of paths"))?
                    .iter().map(|s| text(s, "copy.srcs[]", 4096).map(std::path::PathBuf::from)).collect::<Result<_, _>>()?,
                dest: text(&c["dest"], "copy.dest", 4096)?,
                mode: match &c["mode"] {
                    Value::Null => None,
                    m => Some(m.as_u64().filter(|m| *m <= 0o7777).ok_or_else(|| bad("copy.mode"))? as u32),
                },
                preserve: c["preserve"].as_bool().unwrap_or(false),
                op_timeout: opt_secs(&c["op_timeout"], "copy.op_timeout")?.ok_or_else(|| bad("copy.op_timeout"))?,
            }),
        },
    })
}

/// A host's end as its DONE frame says it.
pub fn encode_end(idx: usize, end: &End) -> Vec<u8> {
    let v = json!({
        "status": end.status, "signal": end.signal, "started": end.started,
        "err": end.error.as_ref().map(|e| e.message.as_str()), "kind": end.error.as_ref().map(|e| e.kind.name()),
        "copied": end.copied.as_ref().map(|c| json!({ "files": c.files, "bytes": c.bytes, "paths": c.paths })),
    });
    host_frame(DONE, idx, v.to_string().as_bytes())
}

/// A DONE frame's end (after its host index).
pub fn decode_end(body: &[u8]) -> Result<End, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("a host's end: {e}"))?;
    let error = match (&v["err"], &v["kind"]) {
        (Value::Null, _) => None,
        (m, k) => Some(RemoteError::new(
            k.as_str().and_then(ErrorKind::from_name).unwrap_or(ErrorKind::Gateway),
            m.as_str().unwrap_or("(no message)").to_string(),
        )),
    };
    Ok(End {
        status: v["status"].as_i64().and_then(|s| i32::try_from(s).ok()),
        signal: v["signal"].as_str().map(str::to_string),
        error,
        started: v["started"].as_bool().unwrap_or(true),
        copied: match &v["copied"] {
            Value::Null => None,
            c => Some(Copied {
                files: c["files"].as_u64().unwrap_or(0),
                bytes: c["bytes"].as_u64().unwrap_or(0),
                paths: c["paths"].as_array().map(|p| p.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default(),
            }),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_and_an_end_survive_the_wire() {
        let job = Job {
            hosts: vec![Routed { target: Target { host: "leaf1".into(), user: Some("u".into()), port: Some(2222) }, via: vec![vec!["r1".into(), "r2".into()]] }],
            cmd: "echo 'x'".into(),
            env: vec![("A".into(), "b c".into())],
            timeout: Some(Duration::from_millis(1500)),
            max_output: Some(10),
            fanout: 7,
            overrides: Overrides { user: Some("root".into()), host_key_mode: Some(HostKeyMode::AcceptNew), ..Default::default() },
            gateway_cmd: "ctys".into(),
            copy: Some(Put { srcs: vec!["/tmp/s/a".into()], dest: "/opt/".into(), mode: Some(0o644), preserve: true, op_timeout: Duration::from_secs(30) }),
        };
        let mut f = Frames::default();
        let bytes = encode_job(&job);
        f.push(&bytes[..3]);
        assert_eq!(f.next(), Ok(None));
        f.push(&bytes[3..]);
        let (kind, body) = f.next().unwrap().unwrap();
        assert_eq!((kind, decode_job(&body)), (REQUEST, Ok(job)));
        let end = End { status: None, signal: None, error: Some(RemoteError::new(ErrorKind::Timeout, "h: timed out")), started: true, copied: None };
        f.push(&encode_end(2, &End { status: Some(0), copied: Some(Copied { files: 2, bytes: 9, paths: vec!["/opt/a".into()] }), ..Default::default() }));
        let (_, body) = f.next().unwrap().unwrap();
        assert_eq!(decode_end(split_host(&body).unwrap().1).unwrap().copied.unwrap().paths, ["/opt/a"]);
        f.push(&encode_end(3, &end));
        let (kind, body) = f.next().unwrap().unwrap();
        let (idx, rest) = split_host(&body).unwrap();
        assert_eq!((kind, idx, decode_end(rest)), (DONE, 3, Ok(end)));
    }

    #[test]
    fn hostile_frames_are_errors_not_allocations() {
        let mut f = Frames::default();
        f.push(&[0xff, 0xff, 0xff, 0xff, b'O']);
        assert!(f.next().unwrap_err().contains("not a ctys gateway's stream"));
        let mut f = Frames::default();
        f.push(&[0, 0, 0, 0]);
        assert!(f.next().is_err());
        for body in [&b"{}"[..], b"[1]", b"\xff", br#"{"version":1,"hosts":[{"target":{"host":5},"via":[]}],"cmd":"x","fanout":1,"gateway_cmd":"c"}"#,
            br#"{"version":2}"#, br#"{"version":1,"hosts":[],"cmd":"x","fanout":0,"gateway_cmd":"c"}"#] {
            assert!(decode_job(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert!(check_hello(b"ctys-gateway 2").unwrap_err().contains("protocol 2"));
        assert!(check_hello(b"bash: ctys: not found").unwrap_err().contains("not a ctys gateway"));
        assert!(decode_end(b"{").is_err());
    }
}
