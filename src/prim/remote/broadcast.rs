//! One input stream fed to many remote commands as it arrives (`echo x | ctys-exec -w @lab cat`):
//! read once, each chunk kept until the slowest host still reading has sent it. Hosts that have a
//! fan-out slot (connecting or running) hold the reader back (it waits while one of them is
//! WINDOW behind), so a slow host slows the stream instead of growing memory; hosts still waiting
//! for a slot keep what was read for them up to CAP, past which they are cut off (their result
//! says to raise the fan-out) rather than hold the others forever.
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// How far the slowest running host may fall behind before reading stops.
const WINDOW: u64 = 1 << 20;
/// The most kept for hosts that have not started yet (the old whole-input limit).
pub const CAP: u64 = 64 << 20;
const CHUNK: usize = 64 << 10;

#[derive(Default)]
struct Reader {
    pos: u64,
    started: bool,
    gone: bool,
    cut: bool,
    /// Written to (one byte) when more input or its end arrives.
    wake: Option<UnixStream>,
}

#[derive(Default)]
struct State {
    /// (offset of the chunk's first byte, bytes)
    chunks: VecDeque<(u64, Arc<[u8]>)>,
    end: u64,
    eof: bool,
    stopped: bool,
    readers: Vec<Reader>,
}

impl State {
    /// Drops the chunks every live reader has passed.
    fn trim(&mut self) {
        let min = self.readers.iter().filter(|r| !r.gone && !r.cut).map(|r| r.pos).min().unwrap_or(self.end);
        while self.chunks.front().is_some_and(|(at, c)| at + c.len() as u64 <= min) {
            self.chunks.pop_front();
        }
    }

    fn wake_all(&mut self) {
        for r in self.readers.iter_mut().filter(|r| !r.gone) {
            if let Some(w) = &mut r.wake {
                let _ = w.write(&[1]);
            }
        }
    }
}

/// The shared input of one fan-out, with one reader slot per host.
pub struct Broadcast {
    state: Mutex<State>,
    room: Condvar,
    stop: (UnixStream, UnixStream),
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Broadcast")
    }
}

/// What a host's command gets next.
pub enum Next<'a> {
    Data(&'a [u8]),
    /// Nothing yet: wait on `Tap::wake_fd`.
    Wait,
    End,
    /// Dropped for falling CAP behind before its turn came.
    Cut,
}

impl Broadcast {
    /// An input for `readers` hosts (every host of the fan-out has a slot from the start, so
    /// nothing is dropped before a late host has read it).
    pub fn new(readers: usize) -> std::io::Result<Broadcast> {
        let stop = UnixStream::pair()?;
        stop.1.set_nonblocking(true)?;
        let state = State { readers: (0..readers).map(|_| Reader::default()).collect(), ..Default::default() };
        Ok(Broadcast { state: Mutex::new(state), room: Condvar::new(), stop })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Host `idx`'s reader, started now (it counts for the window from here on). Dropping it
    /// lets the input go on without it.
    pub fn tap(self: &Arc<Self>, idx: usize) -> std::io::Result<Tap> {
        let (mine, theirs) = UnixStream::pair()?;
        mine.set_nonblocking(true)?;
        theirs.set_nonblocking(true)?;
        let mut st = self.lock();
        let r = &mut st.readers[idx];
        r.started = true;
        r.wake = Some(theirs);
        drop(st);
        self.room.notify_all();
        Ok(Tap { bc: self.clone(), idx, pos: 0, cur: None, wake: mine })
    }

    /// Reads `input` until its end or `stop`, holding back while a running host is WINDOW
    /// behind; a read error ends the input as an end of file would.
    pub fn feed(&self, input: BorrowedFd<'_>) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            {
                let mut st = self.lock();
                loop {
                    if st.stopped {
                        return;
                    }
                    let slowest = st.readers.iter().filter(|r| r.started && !r.gone && !r.cut).map(|r| r.pos).min().unwrap_or(st.end);
                    if st.end - slowest < WINDOW {
                        break;
                    }
                    st = self.room.wait_timeout(st, Duration::from_millis(200)).unwrap_or_else(|p| p.into_inner()).0;
                }
                let kept_from = st.chunks.front().map_or(st.end, |c| c.0);
                if st.end - kept_from >= CAP {
                    for r in st.readers.iter_mut().filter(|r| !r.started && !r.gone) {
                        r.cut = true;
                    }
                    st.trim();
                }
            }
            let mut fds = [PollFd::new(input, PollFlags::POLLIN), PollFd::new(self.stop.1.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::NONE).is_err() && !matches!(nix::errno::Errno::last(), nix::errno::Errno::EINTR) {
                return self.end();
            }
            if fds[1].any().unwrap_or(false) {
                return;
            }
            match nix::unistd::read(input, &mut buf) {
                Ok(0) => return self.end(),
                Ok(n) => {
                    let mut st = self.lock();
                    let at = st.end;
                    st.chunks.push_back((at, Arc::from(&buf[..n])));
                    st.end += n as u64;
                    st.wake_all();
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Err(_) => return self.end(),
            }
        }
    }

    fn end(&self) {
        let mut st = self.lock();
        st.eof = true;
        st.wake_all();
    }

    /// Ends `feed` (the fan-out is over); what it had not read stays unread.
    pub fn stop(&self) {
        self.lock().stopped = true;
        self.room.notify_all();
        let _ = (&self.stop.0).write(&[1]);
    }
}

/// One host's place in the input.
pub struct Tap {
    bc: Arc<Broadcast>,
    idx: usize,
    pos: u64,
    /// The chunk being sent and where in it.
    cur: Option<(Arc<[u8]>, usize)>,
    wake: UnixStream,
}

impl Tap {
    /// The bytes to send next, or why there are none.
    pub fn next(&mut self) -> Next<'_> {
        if self.cur.as_ref().is_none_or(|(c, off)| *off >= c.len()) {
            let mut drain = [0u8; 64];
            while matches!((&self.wake).read(&mut drain), Ok(n) if n > 0) {}
            let st = self.bc.lock();
            if st.readers[self.idx].cut {
                return Next::Cut;
            }
            let found = st.chunks.iter().find(|(at, c)| at + c.len() as u64 > self.pos).map(|(at, c)| (c.clone(), (self.pos - at) as usize));
            self.cur = match found {
                Some(f) => Some(f),
                None if st.eof => return Next::End,
                None => return Next::Wait,
            };
        }
        match &self.cur {
            Some((c, off)) => Next::Data(&c[*off..]),
            None => Next::Wait,
        }
    }

    /// `n` bytes of what `next` gave were sent.
    pub fn advance(&mut self, n: usize) {
        if let Some((_, off)) = &mut self.cur {
            *off += n;
        }
        self.pos += n as u64;
        let mut st = self.bc.lock();
        st.readers[self.idx].pos = self.pos;
        st.trim();
        drop(st);
        self.bc.room.notify_all();
    }

    /// This host reads no more (its command closed its stdin or ended): the input goes on
    /// without it.
    pub fn leave(&mut self) {
        let mut st = self.bc.lock();
        let r = &mut st.readers[self.idx];
        r.gone = true;
        r.wake = None;
        st.trim();
        drop(st);
        self.bc.room.notify_all();
    }

    /// Readable when `next` may have more to say.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(t: &mut Tap) -> Vec<u8> {
        let mut got = Vec::new();
        loop {
            let n = match t.next() {
                Next::Data(d) => {
                    got.extend_from_slice(d);
                    d.len()
                }
                Next::End => return got,
                Next::Wait => {
                    let mut fds = [PollFd::new(t.wake_fd(), PollFlags::POLLIN)];
                    poll(&mut fds, PollTimeout::from(1000u16)).unwrap();
                    0
                }
                Next::Cut => panic!("cut"),
            };
            t.advance(n);
        }
    }

    #[test]
    fn every_reader_gets_every_byte_and_memory_is_released() {
        let (mut w, r) = UnixStream::pair().unwrap();
        let bc = Arc::new(Broadcast::new(3).unwrap());
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::thread::scope(|s| {
            s.spawn(|| bc.feed(r.as_fd()));
            let writer = s.spawn(move || {
                w.write_all(&data).unwrap();
                data
            });
            let readers: Vec<_> = (0..3).map(|i| {
                let bc = bc.clone();
                s.spawn(move || drain(&mut bc.tap(i).unwrap()))
            }).collect();
            let got: Vec<Vec<u8>> = readers.into_iter().map(|h| h.join().unwrap()).collect();
            let sent = writer.join().unwrap();
            for g in got {
                assert_eq!(g, sent);
            }
        });
        assert!(bc.lock().chunks.is_empty(), "all read, nothing kept");
    }

    #[test]
    fn a_running_reader_holds_the_input_back_within_the_window() {
        let (mut w, r) = UnixStream::pair().unwrap();
        w.set_nonblocking(true).unwrap();
        let bc = Arc::new(Broadcast::new(1).unwrap());
        let _slow = bc.tap(0).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| bc.feed(r.as_fd()));
            let chunk = vec![0u8; CHUNK];
            let mut written = 0u64;
            // The socket buffer fills once the feeder stops reading at WINDOW.
            let t0 = std::time::Instant::now();
            while t0.elapsed() < Duration::from_secs(2) {
                match w.write(&chunk) {
                    Ok(n) => written += n as u64,
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            let kept = bc.lock().end;
            assert!(kept <= WINDOW + CHUNK as u64, "read {kept} bytes for a reader that took none");
            assert!(written > kept, "the writer was held back");
            bc.stop();
        });
    }

    #[test]
    fn readers_that_never_start_are_cut_at_the_cap_not_held() {
        let (mut w, r) = UnixStream::pair().unwrap();
        let bc = Arc::new(Broadcast::new(2).unwrap());
        let mut fast = bc.tap(0).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| bc.feed(r.as_fd()));
            s.spawn(move || {
                let chunk = vec![7u8; CHUNK];
                for _ in 0..(CAP / CHUNK as u64 + 4) {
                    if w.write_all(&chunk).is_err() {
                        break;
                    }
                }
            });
            assert_eq!(drain(&mut fast).len() as u64, CAP + 4 * CHUNK as u64);
            let mut late = bc.tap(1).unwrap();
            assert!(matches!(late.next(), Next::Cut));
        });
    }
}
