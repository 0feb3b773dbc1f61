//! One command on many hosts: a bounded pool of threads, one SSH session per host (kept for
//! the next call, see pool.rs), results in input order. A dead or hanging host costs only its own timeouts; a failing host
//! does not stop the others; cancellation reaches every worker within ~100 ms.
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::broadcast::Tap;
use super::{connect, pool, Conn, ExecRequest, HostResult, RemoteError, Settings, Stream};

/// What the fan-out reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A host is connected and its command about to start.
    Start { host: usize },
    /// A complete output line (without its newline; the last line may lack one).
    Line { host: usize, stream: Stream, line: Vec<u8> },
    /// Output as it arrived (Output::Chunks: a gateway passes it on whole).
    Chunk { host: usize, stream: Stream, data: Vec<u8> },
    /// A host finished, and how.
    Done { host: usize, end: End },
}

/// How a host's command ended: its result without the output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct End {
    pub status: Option<i32>,
    pub signal: Option<String>,
    pub error: Option<RemoteError>,
    pub started: bool,
    pub copied: Option<super::copy::Copied>,
}

impl End {
    pub fn of(r: &HostResult) -> End {
        End { status: r.outcome.status, signal: r.outcome.signal.clone(), error: r.error.clone(), started: r.started, copied: r.copied.clone() }
    }

    /// It ran and exited 0.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status == Some(0)
    }
}

/// How output is reported while it arrives (the results hold all of it anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Quiet,
    Lines,
    Chunks,
}

/// Cuts a byte stream into lines.
#[derive(Default)]
pub struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// Takes bytes; `emit` gets each complete line (without its newline).
    pub fn push(&mut self, data: &[u8], mut emit: impl FnMut(Vec<u8>)) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            emit(self.buf[start..start + nl].to_vec());
            start += nl + 1;
        }
        self.buf.drain(..start);
    }

    /// The last line, when the stream did not end with a newline.
    pub fn finish(&mut self, emit: impl FnOnce(Vec<u8>)) {
        if !self.buf.is_empty() {
            emit(std::mem::take(&mut self.buf));
        }
    }
}

/// The command on one host: on a kept session (`fresh`: a new one, not kept after), kept again
/// when it ran well. A kept session may have died while it waited: when the command did not
/// start there, it runs once more on a new connection.
fn one(idx: usize, s: &Settings, req: &ExecRequest, output: Output, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> HostResult {
    // The host holds the input back from the moment it has a slot, not only once connected: a
    // slow handshake must not let the reader run up to the cap meant for hosts still queued.
    let mut tap = match req.stdin_feed.as_ref().map(|b| b.tap(idx)).transpose() {
        Ok(t) => t,
        Err(e) => return HostResult { error: Some(RemoteError::new(super::ErrorKind::Io, format!("{}: standard input: {e}", s.label))), ..Default::default() },
    };
    let taken = if req.fresh { connect(s, cancel).map(|c| (c, false)) } else { pool::take(s, cancel) };
    let (mut conn, mut pooled) = match taken {
        Ok(c) => c,
        Err(e) => return HostResult { error: Some(e), ..Default::default() },
    };
    emit(Event::Start { host: idx });
    loop {
        let r = run_on(&conn, idx, req, tap.as_mut(), output, cancel, emit);
        if r.error.is_none() && !req.fresh {
            pool::give(s, conn);
            return r;
        }
        if r.error.is_none() || !pooled || r.started || cancel.load(Ordering::Relaxed) {
            return r;
        }
        conn = match connect(s, cancel) {
            Ok(c) => c,
            Err(e) => return HostResult { error: Some(e), ..Default::default() },
        };
        pooled = false;
    }
}

fn run_on(conn: &Conn, idx: usize, req: &ExecRequest, tap: Option<&mut Tap>, output: Output, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> HostResult {
    let (mut out, mut err) = (Lines::default(), Lines::default());
    let mut sink = |stream: Stream, data: &[u8]| match output {
        Output::Lines => {
            let lines = if stream == Stream::Stdout { &mut out } else { &mut err };
            lines.push(data, |line| emit(Event::Line { host: idx, stream, line }));
        }
        Output::Chunks => emit(Event::Chunk { host: idx, stream, data: data.to_vec() }),
        Output::Quiet => {}
    };
    let r = conn.exec(req, tap, cancel, &mut sink);
    out.finish(|line| emit(Event::Line { host: idx, stream: Stream::Stdout, line }));
    err.finish(|line| emit(Event::Line { host: idx, stream: Stream::Stderr, line }));
    r
}

/// `job(i)` for i in 0..n on at most `fanout` threads; the results in order.
fn parallel<T: Send>(n: usize, fanout: usize, job: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let results: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..fanout.clamp(1, n.max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let r = job(i);
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every job ran")).collect()
}

fn not_started(s: &Settings) -> RemoteError {
    RemoteError::new(super::ErrorKind::Cancelled, format!("{}: cancelled before it started", s.label))
}

/// Runs `req` on every host with at most `fanout` at once. A host whose settings could not be
/// resolved fails with that error. `emit` receives a Start event per host that connected, Line
/// or Chunk events as `output` says, and one Done event per host, from the worker threads. With `req.stdin_feed` this process's stdin
/// is read meanwhile and streamed to every host.
pub fn run(
    hosts: &[Result<Settings, RemoteError>],
    req: &ExecRequest,
    fanout: usize,
    output: Output,
    cancel: &AtomicBool,
    emit: &(dyn Fn(Event) + Sync),
) -> Vec<HostResult> {
    std::thread::scope(|scope| {
        if let Some(feed) = &req.stdin_feed {
            scope.spawn(|| feed.feed(std::io::stdin().as_fd()));
        }
        let r = parallel(hosts.len(), fanout, &|i| {
            let r = match &hosts[i] {
                Err(e) => HostResult { error: Some(e.clone()), ..Default::default() },
                Ok(s) if cancel.load(Ordering::Relaxed) => HostResult { error: Some(not_started(s)), ..Default::default() },
                Ok(s) => one(i, s, req, output, cancel, emit),
            };
            emit(Event::Done { host: i, end: End::of(&r) });
            r
        });
        if let Some(feed) = &req.stdin_feed {
            feed.stop();
        }
        r
    })
}

/// Any work on every host over the kept sessions, at most `fanout` at once, results in order.
/// `open` is the first step on a session; when it fails on a kept one (which may have died
/// while it waited) it is tried once more on a new connection.
pub fn each<S, T: Send>(
    hosts: &[Result<Settings, RemoteError>],
    fanout: usize,
    cancel: &AtomicBool,
    open: &(dyn Fn(&Conn) -> Result<S, RemoteError> + Sync),
    work: &(dyn Fn(&Conn, S) -> Result<T, RemoteError> + Sync),
) -> Vec<Result<T, RemoteError>> {
    parallel(hosts.len(), fanout, &|i| {
        let s = hosts[i].as_ref().map_err(Clone::clone)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(not_started(s));
        }
        let (mut conn, pooled) = pool::take(s, cancel)?;
        let opened = match open(&conn) {
            Ok(o) => o,
            Err(_) if pooled && !cancel.load(Ordering::Relaxed) => {
                conn = connect(s, cancel)?;
                open(&conn)?
            }
            Err(e) => return Err(e),
        };
        let r = work(&conn, opened);
        if r.is_ok() {
            pool::give(s, conn);
        }
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks() {
        let mut l = Lines::default();
        let mut got = Vec::new();
        l.push(b"a\nb", |x| got.push(x));
        l.push(b"c\n\nd", |x| got.push(x));
        l.finish(|x| got.push(x));
        assert_eq!(got, vec![b"a".to_vec(), b"bc".to_vec(), b"".to_vec(), b"d".to_vec()]);
    }
}
