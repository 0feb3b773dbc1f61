//! A UDP proxy on 127.0.0.1 between a client and a real server (ipmi_sim): each datagram goes
//! through a policy that may pass it, change it, delay it or drop it — a lossy path, or an
//! on-path forger — without a kernel netem.
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which way a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// What to do with one datagram: the datagrams to send in its place, each after its delay
/// (none: dropped).
pub type Policy = dyn Fn(Dir, &[u8]) -> Vec<(Duration, Vec<u8>)> + Send + Sync;

pub struct Proxy {
    pub port: u16,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `server`.
    pub fn start(server: SocketAddr, policy: Box<Policy>) -> Proxy {
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        let back = UdpSocket::bind("127.0.0.1:0").unwrap();
        back.connect(server).unwrap();
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let policy: Arc<Policy> = Arc::from(policy);
        let (f2, b2) = (front.try_clone().unwrap(), back.try_clone().unwrap());
        let (c2, p2) = (client.clone(), policy.clone());
        // Each direction on its own thread; a delayed datagram gets a thread of its own.
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = front.recv_from(&mut buf) {
                *client.lock().unwrap() = Some(from);
                for (delay, data) in policy(Dir::ToServer, &buf[..n]) {
                    let b = back.try_clone().unwrap();
                    send_later(delay, move || {
                        let _ = b.send(&data);
                    });
                }
            }
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok(n) = b2.recv(&mut buf) {
                let Some(to) = *c2.lock().unwrap() else { continue };
                for (delay, data) in p2(Dir::ToClient, &buf[..n]) {
                    let f = f2.try_clone().unwrap();
                    send_later(delay, move || {
                        let _ = f.send_to(&data, to);
                    });
                }
            }
        });
        Proxy { port }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn send_later(delay: Duration, f: impl FnOnce() + Send + 'static) {
    if delay.is_zero() {
        f();
    } else {
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            f();
        });
    }
}

/// Passes every datagram as it is, at once.
pub fn pass(data: &[u8]) -> Vec<(Duration, Vec<u8>)> {
    vec![(Duration::ZERO, data.to_vec())]
}
