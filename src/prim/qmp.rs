//! A QMP (QEMU Machine Protocol) client: a unix socket, the greeting, `qmp_capabilities`, then
//! commands and the events QEMU sends between them. Every read is bounded: a line may hold at most
//! MAX_LINE bytes, every wait has a deadline, and at most MAX_EVENTS events are kept unread.
use std::collections::VecDeque;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::time::Instant;

use super::failure::{Failure, Kind};
use super::fs;

/// A QMP line is a JSON object; QEMU's largest (query-qmp-schema) is about 200 KB.
pub const MAX_LINE: usize = 1 << 20;
/// Events kept until read; older ones are dropped first.
const MAX_EVENTS: usize = 256;

pub struct Qmp {
    stream: BufReader<UnixStream>,
    events: VecDeque<Value>,
    /// The greeting's `QMP.version.qemu` (major, minor, micro).
    pub version: (u64, u64, u64),
    shown: String,
}

impl Qmp {
    /// Connects to a QMP socket owned by one of `owners` (or root; not writable by others) and
    /// negotiates capabilities, all within `timeout`.
    pub async fn connect(path: &Path, timeout: Duration, owners: &[u32]) -> Result<Qmp, Failure> {
        let shown = super::failure::shown(&path.to_string_lossy()).into_owned();
        let meta = std::fs::symlink_metadata(path).map_err(|e| Failure::io(&shown, &e))?;
        if !meta.file_type().is_socket() {
            return Err(Failure::new(Kind::Untrusted, format!("{shown}: not a socket")));
        }
        fs::check_trusted(path, &meta, owners)?;
        let deadline = Instant::now() + timeout;
        let stream = tokio::time::timeout_at(deadline, UnixStream::connect(path))
            .await
            .map_err(|_| Failure::new(Kind::Timeout, format!("{shown}: no connection within {} s", timeout.as_secs_f64())))?
            .map_err(|e| Failure::io(&shown, &e))?;
        let mut q = Qmp { stream: BufReader::new(stream), events: VecDeque::new(), version: (0, 0, 0), shown };
        let greeting = q.read_message(deadline).await?;
        let Some(v) = greeting.get("QMP") else {
            return Err(q.fail(Kind::Protocol, "the first line is not a QMP greeting"));
        };
        let n = |k: &str| v["version"]["qemu"][k].as_u64().unwrap_or(0);
        q.version = (n("major"), n("minor"), n("micro"));
        q.call("qmp_capabilities", None, deadline).await?;
        Ok(q)
    }

    fn fail(&self, kind: Kind, msg: impl std::fmt::Display) -> Failure {
        Failure::new(kind, format!("qmp {}: {msg}", self.shown))
    }

    /// Runs a command; its `return` value, or its `error` as a `refused` failure.
    pub async fn execute(&mut self, command: &str, arguments: Option<Value>, timeout: Duration) -> Result<Value, Failure> {
        self.call(command, arguments, Instant::now() + timeout).await
    }

    async fn call(&mut self, command: &str, arguments: Option<Value>, deadline: Instant) -> Result<Value, Failure> {
        let mut req = json!({ "execute": command });
        if let Some(a) = arguments {
            req["arguments"] = a;
        }
        let mut line = serde_json::to_vec(&req).map_err(|e| self.fail(Kind::Invalid, e))?;
        line.push(b'\n');
        let sent = tokio::time::timeout_at(deadline, self.stream.get_mut().write_all(&line)).await;
        match sent {
            Err(_) => return Err(self.fail(Kind::Timeout, format!("{command}: not accepted in time"))),
            Ok(Err(e)) => return Err(self.fail(Kind::of_io(&e), format!("{command}: {e}"))),
            Ok(Ok(())) => {}
        }
        loop {
            let mut m = self.read_message(deadline).await?;
            if let Some(r) = m.get_mut("return") {
                return Ok(r.take());
            }
            if let Some(e) = m.get("error") {
                let class = e["class"].as_str().unwrap_or("GenericError");
                let desc = e["desc"].as_str().unwrap_or("no description");
                return Err(self.fail(Kind::Refused, format!("{command}: {class}: {desc}")));
            }
            if m.get("event").is_some() {
                self.keep(m);
            } else {
                return Err(self.fail(Kind::Protocol, format!("{command}: a reply with neither return, error nor event")));
            }
        }
    }

    fn keep(&mut self, event: Value) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The next event (named `name`, when given; others before it are dropped), or a `timeout`
    /// failure; `closed` when QEMU closes the socket (it has exited).
    pub async fn event(&mut self, name: Option<&str>, timeout: Duration) -> Result<Value, Failure> {
        let wanted = |e: &Value| name.is_none_or(|n| e["event"].as_str() == Some(n));
        while let Some(e) = self.events.pop_front() {
            if wanted(&e) {
                return Ok(e);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.read_message(deadline).await?;
            if m.get("event").is_some() && wanted(&m) {
                return Ok(m);
            }
        }
    }

    /// One JSON object from one line.
    async fn read_message(&mut self, deadline: Instant) -> Result<Value, Failure> {
        let line = match tokio::time::timeout_at(deadline, read_line(&mut self.stream)).await {
            Err(_) => return Err(self.fail(Kind::Timeout, "no answer in time")),
            Ok(r) => r.map_err(|(k, m)| self.fail(k, m))?,
        };
        match serde_json::from_slice::<Value>(&line) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(self.fail(Kind::Protocol, format!("not a QMP message: {}", String::from_utf8_lossy(&line[..line.len().min(60)])))),
        }
    }
}

/// A line without its end, at most MAX_LINE bytes.
async fn read_line(r: &mut BufReader<UnixStream>) -> Result<Vec<u8>, (Kind, String)> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await.map_err(|e| (Kind::of_io(&e), e.to_string()))?;
        if buf.is_empty() {
            return Err((Kind::Closed, "the socket was closed".into()));
        }
        let (take, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > MAX_LINE + 2 {
            return Err((Kind::TooLarge, format!("a line longer than {MAX_LINE} bytes")));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if end {
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}
