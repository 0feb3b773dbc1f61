//! The gateway's side (`ctys --gateway`): one request read from stdin (hello first, within a
//! minute, at most two frames), its command or copy run as tree.rs runs them (further gateways included)
//! with this host's own ssh_config and keys, and every event written to stdout as a frame the
//! moment it happens. Cancelled (a signal, or stdout gone because the controller went away)
//! it ends the remote commands it started before it ends.
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::config::SshConfig;
use super::fanout::{Event, Output};
use super::gateway::{self, Frames, Job};
use super::tree::{self, Tree, Work};
use super::{resolve, Env, ExecRequest, Stream};

/// How long the controller has to send its request.
const REQUEST_WITHIN: Duration = Duration::from_secs(60);

/// Reads the hello and the request from `input`.
fn read_job(input: BorrowedFd<'_>) -> Result<Job, String> {
    let deadline = Instant::now() + REQUEST_WITHIN;
    let mut frames = Frames::default();
    let mut greeted = false;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        while let Some((kind, body)) = frames.next()? {
            match (greeted, kind) {
                (false, gateway::HELLO) => {
                    gateway::check_hello(&body)?;
                    greeted = true;
                }
                (true, gateway::REQUEST) => return gateway::decode_job(&body),
                _ => return Err(format!("expected a {} frame, got kind {kind:#04x}", if greeted { "request" } else { "hello" })),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no request within {} s", REQUEST_WITHIN.as_secs()));
        }
        let mut fds = [PollFd::new(input, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("reading the request: {e}")),
            Ok(_) => {}
        }
        match nix::unistd::read(input, &mut buf) {
            Ok(0) => return Err("the request ended early".into()),
            Ok(n) => frames.push(&buf[..n]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(format!("reading the request: {e}")),
        }
    }
}

/// Serves one request on stdin/stdout. `cancel` is set by the caller's signal handlers, and
/// here when stdout breaks. The exit value: 0 when the request ran (whatever its hosts did),
/// 2 when it could not be read or this host's ssh_config not.
pub fn serve(cancel: &AtomicBool) -> i32 {
    let out = Mutex::new(std::io::stdout());
    let send = |bytes: &[u8]| {
        let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
        if o.write_all(bytes).and_then(|()| o.flush()).is_err() {
            // The controller is gone: nobody reads the results, so nothing more should run.
            cancel.store(true, Ordering::SeqCst);
        }
    };
    send(&gateway::hello());
    let stdin = std::io::stdin();
    let job = match read_job(stdin.as_fd()) {
        Ok(j) => j,
        Err(e) => {
            send(&gateway::frame(gateway::FATAL, e.as_bytes()));
            return 2;
        }
    };
    let penv = Env::from_process();
    let cfg = match SshConfig::load(&std::path::PathBuf::from(&penv.home).join(".ssh/config")) {
        Ok(c) => c,
        Err(e) => {
            send(&gateway::frame(gateway::FATAL, e.as_bytes()));
            return 2;
        }
    };
    let resolve_one = |t: &super::Target| resolve(t, &job.overrides, &cfg, &penv);
    let tree = Tree { resolve: &resolve_one, gateway_cmd: &job.gateway_cmd, overrides: &job.overrides };
    let req = ExecRequest { cmd: job.cmd.clone(), env: job.env.clone(), timeout: job.timeout, max_output: job.max_output, ..Default::default() };
    let emit = |ev: Event| match ev {
        Event::Start { host } => send(&gateway::host_frame(gateway::START, host, &[])),
        Event::Chunk { host, stream, data } => {
            let kind = if stream == Stream::Stdout { gateway::STDOUT } else { gateway::STDERR };
            for part in data.chunks(gateway::CHUNK) {
                send(&gateway::host_frame(kind, host, part));
            }
        }
        Event::Done { host, end } => send(&gateway::encode_end(host, &end)),
        Event::Line { .. } => {}
    };
    let work = match &job.copy {
        Some(put) => Work::Copy(put),
        None => Work::Exec(&req),
    };
    tree::run(&job.hosts, work, job.fanout, Output::Chunks, &tree, cancel, &emit);
    send(&gateway::frame(gateway::END, &[]));
    0
}
