//! One command, or one copy, on hosts of which some sit behind gateways (a topology): the
//! direct ones run as a flat fan-out, the others go in one request per gateway to `ctys
//! --gateway` there (which does the same with the levels below it) and their events come back
//! as they happen, so the caller sees what a flat run shows. A copy's sources are first staged
//! on the gateway (a private directory in its /tmp, removed afterwards), which copies them on. A gateway's share of the fan-out is its share of the
//! hosts, not a copy of it. A gateway that is down or dies hands the hosts it had not started
//! to the next candidate of its level; hosts it had started, and hosts no candidate reached,
//! fail with kind `gateway` (never dropped).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::copy::{self, Put};
use super::fanout::{self, End, Event, Lines, Output};
use super::gateway::{self, Frames, Job, Routed};
use super::session::shell_quote;
use super::{pool, Conn, ErrorKind, ExecRequest, HostResult, Outcome, Overrides, RemoteError, Settings, Stream, Target, DEFAULT_CONNECT_TIMEOUT};

/// What runs on every host.
#[derive(Clone, Copy)]
pub enum Work<'a> {
    Exec(&'a ExecRequest),
    /// A copy (each host's result in `HostResult::copied`, status 0 when it arrived).
    Copy(&'a Put),
}

/// How hosts and gateways are reached.
pub struct Tree<'a> {
    /// A host's or gateway's connection settings (ssh_config, the caller's options).
    pub resolve: &'a (dyn Fn(&Target) -> Result<Settings, RemoteError> + Sync),
    /// What runs ctys on a gateway (`--gateway` is added).
    pub gateway_cmd: &'a str,
    /// Passed on to the gateways (user, port, connect timeout, host key mode).
    pub overrides: &'a Overrides,
}

/// Runs `req` on every host, each through the gateways of its `via`; results in input order,
/// events (with indices into `hosts`) as they happen. `req.stdin_feed` (one reader per direct
/// host) goes to the direct hosts; hosts behind gateways read an empty stdin.
pub fn run(hosts: &[Routed], work: Work, fanout: usize, output: Output, tree: &Tree, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> Vec<HostResult> {
    let n = hosts.len();
    let share = |k: usize| (fanout.max(1) * k / n.max(1)).max(1);
    let direct: Vec<usize> = (0..n).filter(|&i| hosts[i].via.is_empty()).collect();
    let mut levels: BTreeMap<&[String], Vec<usize>> = BTreeMap::new();
    for (i, h) in hosts.iter().enumerate() {
        if let Some(first) = h.via.first() {
            levels.entry(first.as_slice()).or_default().push(i);
        }
    }
    // Each level's hosts in as many contiguous parts as it has gateways (neighbours, often a
    // rack behind one next-level gateway, stay together).
    let mut legs: Vec<(&[String], usize, Vec<usize>)> = Vec::new();
    for (cands, members) in levels {
        let per = members.len().div_ceil(cands.len().min(members.len()));
        legs.extend(members.chunks(per).enumerate().map(|(j, part)| (cands, j, part.to_vec())));
    }
    let mut results: Vec<HostResult> = vec![HostResult::default(); n];
    std::thread::scope(|scope| {
        let flat = (!direct.is_empty()).then(|| {
            scope.spawn(|| {
                let settings: Vec<_> = direct.iter().map(|&i| (tree.resolve)(&hosts[i].target)).collect();
                let emit_here = |ev| emit(renumber(ev, &direct));
                match work {
                    Work::Exec(req) => fanout::run(&settings, req, share(direct.len()), output, cancel, &emit_here),
                    Work::Copy(put) => copy_flat(&settings, put, share(direct.len()), cancel, &emit_here),
                }
            })
        });
        let legs: Vec<_> = legs
            .iter()
            .map(|(cands, first, members)| scope.spawn(move || leg(cands, *first, members, hosts, work, share(members.len()), output, tree, cancel, emit)))
            .collect();
        if let Some(h) = flat {
            for (k, r) in h.join().unwrap_or_default().into_iter().enumerate() {
                results[direct[k]] = r;
            }
        }
        for h in legs {
            for (i, r) in h.join().unwrap_or_default() {
                results[i] = r;
            }
        }
    });
    results
}

/// A copy to hosts reached directly, as results with a Done event each.
fn copy_flat(settings: &[Result<Settings, RemoteError>], put: &Put, fanout: usize, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> Vec<HostResult> {
    let done = fanout::each(settings, fanout, cancel, &|c| copy::open(c, put.op_timeout), &|c, sftp| copy::put(c, &sftp, put, cancel));
    done.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let res = match r {
                Ok(c) => HostResult { outcome: Outcome { status: Some(0), ..Default::default() }, started: true, copied: Some(c), ..Default::default() },
                Err(e) => HostResult { error: Some(e), ..Default::default() },
            };
            emit(Event::Done { host: i, end: End::of(&res) });
            res
        })
        .collect()
}

/// An event about host `k` of `map` as one about host `map[k]`.
fn renumber(ev: Event, map: &[usize]) -> Event {
    match ev {
        Event::Start { host } => Event::Start { host: map[host] },
        Event::Line { host, stream, line } => Event::Line { host: map[host], stream, line },
        Event::Chunk { host, stream, data } => Event::Chunk { host: map[host], stream, data },
        Event::Done { host, end } => Event::Done { host: map[host], end },
    }
}

/// What one host has shown so far through a gateway.
#[derive(Default)]
struct Seen {
    result: HostResult,
    out: Lines,
    err: Lines,
    started: bool,
    ended: bool,
}

fn failed(kind: ErrorKind, message: String, started: bool) -> HostResult {
    HostResult { error: Some(RemoteError::new(kind, message)), started, ..Default::default() }
}

/// The hosts of one part of a level, through its candidates in turn from `first`.
#[allow(clippy::too_many_arguments)]
fn leg(cands: &[String], first: usize, members: &[usize], hosts: &[Routed], work: Work, fanout: usize, output: Output, tree: &Tree, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> Vec<(usize, HostResult)> {
    let mut out = Vec::with_capacity(members.len());
    let mut pending = members.to_vec();
    let mut why = String::new();
    for attempt in 0..cands.len() {
        if pending.is_empty() || cancel.load(Ordering::Relaxed) {
            break;
        }
        let gw = &cands[(first + attempt) % cands.len()];
        let mut seen: Vec<Seen> = pending.iter().map(|_| Seen::default()).collect();
        let r = through(gw, &pending, &mut seen, hosts, work, fanout, output, tree, cancel, emit);
        let mut next = Vec::new();
        for (k, s) in seen.into_iter().enumerate() {
            let i = pending[k];
            if s.ended {
                out.push((i, s.result));
            } else if s.started {
                let e = r.as_ref().err().map_or("ended without its result", String::as_str);
                let res = failed(ErrorKind::Gateway, format!("{}: gateway {gw}: {e} (the command may have run)", hosts[i].target.label()), true);
                emit(Event::Done { host: i, end: End::of(&res) });
                out.push((i, res));
            } else {
                next.push(i);
            }
        }
        if let Err(e) = r {
            why = if why.is_empty() { format!("gateway {gw}: {e}") } else { format!("{why}; gateway {gw}: {e}") };
        }
        pending = next;
    }
    for i in pending {
        let res = if cancel.load(Ordering::Relaxed) {
            failed(ErrorKind::Cancelled, format!("{}: cancelled before it started", hosts[i].target.label()), false)
        } else {
            failed(ErrorKind::Gateway, format!("{}: no gateway reached it ({why})", hosts[i].target.label()), false)
        };
        emit(Event::Done { host: i, end: End::of(&res) });
        out.push((i, res));
    }
    out
}

/// One request to gateway `gw` for `pending`, its replies recorded in `seen` and passed on as
/// events. Err: why the gateway did not answer for all of them.
#[allow(clippy::too_many_arguments)]
fn through(gw: &str, pending: &[usize], seen: &mut [Seen], hosts: &[Routed], work: Work, fanout: usize, output: Output, tree: &Tree, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
    let settings = (tree.resolve)(&Target { host: gw.to_string(), user: None, port: None }).map_err(|e| e.message)?;
    let (mut conn, pooled) = pool::take(&settings, cancel).map_err(|e| e.message)?;
    let none = ExecRequest::default();
    let (req, copy) = match work {
        Work::Exec(req) => (req, None),
        Work::Copy(put) => match stage(&conn, put, cancel) {
            Ok(staged) => (&none, Some(staged)),
            // A kept session that died while it waited: once more on a new one.
            Err(_) if pooled && !cancel.load(Ordering::Relaxed) => {
                conn = super::connect(&settings, cancel).map_err(|e| e.message)?;
                (&none, Some(stage(&conn, put, cancel)?))
            }
            Err(e) => return Err(e),
        },
    };
    let job = Job {
        hosts: pending.iter().map(|&i| Routed { target: hosts[i].target.clone(), via: hosts[i].via[1..].to_vec() }).collect(),
        cmd: req.cmd.clone(),
        env: req.env.clone(),
        timeout: req.timeout,
        max_output: req.max_output,
        fanout,
        overrides: tree.overrides.clone(),
        gateway_cmd: tree.gateway_cmd.to_string(),
        copy: copy.as_ref().map(|(_, put)| put.clone()),
    };
    let r = ask(&settings, conn, pooled && copy.is_none(), job, pending, seen, req, output, cancel, emit);
    if let Some((dir, _)) = copy {
        unstage(&settings, &dir);
    }
    r
}

/// Stages a copy's sources on a gateway: a new directory of its own (0700) in the gateway's
/// /tmp; the copy the gateway makes from there, and where it is.
fn stage(conn: &Conn, put: &Put, cancel: &AtomicBool) -> Result<(String, Put), String> {
    let sftp = copy::open(conn, put.op_timeout).map_err(|e| e.message)?;
    let dir = format!("/tmp/.ctys-stage-{:016x}", rand::random::<u64>());
    // mkdir fails on anything already there: the directory is ours.
    sftp.mkdir(std::path::Path::new(&dir), 0o700).map_err(|e| format!("cannot make {dir}: {}", e.message()))?;
    let here = Put { dest: format!("{dir}/"), mode: None, ..put.clone() };
    match copy::put(conn, &sftp, &here, cancel) {
        Ok(staged) => Ok((dir, Put { srcs: staged.paths.into_iter().map(Into::into).collect(), ..put.clone() })),
        Err(e) => {
            remove(conn, &dir);
            Err(e.message)
        }
    }
}

/// Removes a staging directory; whether that worked.
fn remove(conn: &Conn, dir: &str) -> bool {
    let rm = ExecRequest { cmd: format!("rm -rf -- {}", shell_quote(dir)), timeout: Some(Duration::from_secs(30)), ..Default::default() };
    conn.exec(&rm, None, &AtomicBool::new(false), &mut |_, _| {}).error.is_none()
}

/// Removes a staged copy after the gateway's run (on a session of its own: the gateway's may
/// be the one that broke).
fn unstage(settings: &Settings, dir: &str) {
    if let Ok((c, _)) = pool::take(settings, &AtomicBool::new(false)) {
        if remove(&c, dir) {
            pool::give(settings, c);
        }
    }
}

/// Sends `job` to the gateway `conn` leads to and reads its replies into `seen`.
#[allow(clippy::too_many_arguments)]
fn ask(settings: &Settings, mut conn: Conn, mut pooled: bool, job: Job, pending: &[usize], seen: &mut [Seen], req: &ExecRequest, output: Output, cancel: &AtomicBool, emit: &(dyn Fn(Event) + Sync)) -> Result<(), String> {
    let mut stdin = gateway::hello();
    stdin.extend(gateway::encode_job(&job));
    // A backstop only: the hosts' own timeouts hold on the gateway, in waves of its fan-out,
    // each after a connect, on every level.
    let depth = job.hosts.iter().map(|h| h.via.len() + 1).max().unwrap_or(1) as u32;
    let connect = job.overrides.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let waves = pending.len().div_ceil(job.fanout) as u32;
    let bound = req.timeout.map(|t| (t + connect) * waves * depth + Duration::from_secs(30));
    let greq = ExecRequest { cmd: format!("{} --gateway", job.gateway_cmd), stdin, timeout: bound, sink_stdout_only: true, ..Default::default() };
    let max = req.max_output.unwrap_or(super::DEFAULT_MAX_OUTPUT);
    loop {
        let mut reader = Reader { frames: Frames::default(), greeted: false, ended: false, broken: None, pending, seen: &mut *seen, output, max, emit };
        let r = conn.exec(&greq, None, cancel, &mut |stream, data| {
            if stream == Stream::Stdout {
                reader.take(data);
            }
        });
        let (greeted, ended, broken) = (reader.greeted, reader.ended, reader.broken.take());
        // A kept session that died while it waited: once more on a new one.
        if r.error.is_some() && !r.started && pooled && !cancel.load(Ordering::Relaxed) {
            conn = super::connect(settings, cancel).map_err(|e| e.message)?;
            pooled = false;
            continue;
        }
        if let Some(e) = broken {
            return Err(e);
        }
        if ended {
            pool::give(settings, conn);
            return Ok(());
        }
        let said = String::from_utf8_lossy(&r.outcome.stderr).lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string);
        return Err(match (r.error, r.outcome.status, said) {
            (Some(e), _, _) => e.message,
            (None, Some(s), Some(l)) if !greeted => format!("no ctys gateway there (exit {s}: {l})"),
            (None, s, l) => format!("ended without its end record (exit {}{})", s.map_or("?".into(), |s| s.to_string()), l.map(|l| format!(": {l}")).unwrap_or_default()),
        });
    }
}

/// Reads a gateway's frames as they arrive.
struct Reader<'a> {
    frames: Frames,
    greeted: bool,
    ended: bool,
    /// The stream broke the protocol: what is left of it is ignored.
    broken: Option<String>,
    pending: &'a [usize],
    seen: &'a mut [Seen],
    output: Output,
    max: usize,
    emit: &'a (dyn Fn(Event) + Sync),
}

impl Reader<'_> {
    fn take(&mut self, data: &[u8]) {
        if self.broken.is_some() {
            return;
        }
        self.frames.push(data);
        loop {
            match self.frames.next() {
                Ok(Some((kind, body))) => {
                    if let Err(e) = self.one(kind, &body) {
                        self.broken = Some(e);
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.broken = Some(e);
                    return;
                }
            }
        }
    }

    fn one(&mut self, kind: u8, body: &[u8]) -> Result<(), String> {
        if !self.greeted {
            return match kind {
                gateway::HELLO => gateway::check_hello(body).map(|()| self.greeted = true),
                gateway::FATAL => Err(String::from_utf8_lossy(body).into_owned()),
                _ => Err("no hello first: not a ctys gateway".into()),
            };
        }
        match kind {
            gateway::END => self.ended = true,
            gateway::FATAL => return Err(String::from_utf8_lossy(body).into_owned()),
            gateway::START | gateway::STDOUT | gateway::STDERR | gateway::DONE => {
                let (k, rest) = gateway::split_host(body)?;
                let host = *self.pending.get(k).ok_or_else(|| format!("a reply about host {k} of {}", self.pending.len()))?;
                let s = &mut self.seen[k];
                if s.ended {
                    return Err(format!("a reply about host {k} after its end"));
                }
                let emit = self.emit;
                match kind {
                    gateway::START => {
                        s.started = true;
                        emit(Event::Start { host });
                    }
                    gateway::DONE => {
                        let end = gateway::decode_end(rest)?;
                        for (lines, stream) in [(&mut s.out, Stream::Stdout), (&mut s.err, Stream::Stderr)] {
                            lines.finish(|line| emit(Event::Line { host, stream, line }));
                        }
                        s.result.outcome.status = end.status;
                        s.result.outcome.signal = end.signal.clone();
                        s.result.started = end.started;
                        s.result.copied = end.copied.clone();
                        // A gateway that sent more output than allowed loses the host.
                        if s.result.error.is_none() {
                            s.result.error = end.error.clone();
                        }
                        s.ended = true;
                        emit(Event::Done { host, end: End::of(&s.result) });
                    }
                    _ => {
                        let stream = if kind == gateway::STDOUT { Stream::Stdout } else { Stream::Stderr };
                        let o = &mut s.result.outcome;
                        if o.stdout.len() + o.stderr.len() + rest.len() > self.max {
                            s.result.error.get_or_insert_with(|| RemoteError::new(ErrorKind::TooLarge, format!("more than {} bytes of output", self.max)));
                            return Ok(());
                        }
                        match stream {
                            Stream::Stdout => o.stdout.extend_from_slice(rest),
                            Stream::Stderr => o.stderr.extend_from_slice(rest),
                        }
                        match self.output {
                            Output::Lines => {
                                let lines = if stream == Stream::Stdout { &mut s.out } else { &mut s.err };
                                lines.push(rest, |line| emit(Event::Line { host, stream, line }));
                            }
                            Output::Chunks => emit(Event::Chunk { host, stream, data: rest.to_vec() }),
                            Output::Quiet => {}
                        }
                    }
                }
            }
            k => return Err(format!("an unknown frame kind {k:#04x}")),
        }
        Ok(())
    }
}
