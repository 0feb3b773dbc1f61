//! The one failure type of the primitives: what went wrong (a message for people, naming the
//! thing concerned) and its kind (for code: callers branch on kinds, never on message text).
use std::fmt;

/// What kind of failure happened, for every primitive (files, processes, netlink, ethtool,
/// SSH, IPMI). The Lua side sees `name()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The file, device or entry does not exist.
    NotFound,
    /// The operating system refused (permissions, capabilities: CAP_NET_ADMIN, CAP_NET_RAW).
    Permission,
    /// It exists already.
    Exists,
    /// A file, socket or directory not owned by the caller (or root), writable by others, or a
    /// symbolic link where none may be.
    Untrusted,
    /// More data than the caller allows.
    TooLarge,
    /// No answer within the time allowed.
    Timeout,
    /// Any other input/output error.
    Io,
    /// No such network device.
    NoDevice,
    /// A name the kernel would refuse (checked before it is asked).
    Invalid,
    /// Another kernel refusal.
    Other,
    /// The driver has no Wake-on-LAN operations (a veth, lo, most virtual NICs).
    NotSupported,
    /// A requested Wake-on-LAN mode is not among those the driver supports.
    UnsupportedMode,
    /// SSH: the host name did not resolve.
    Resolve,
    /// SSH: no TCP connection.
    Connect,
    /// SSH: the host key is unknown, changed or revoked.
    HostKey,
    /// SSH or IPMI: the login was refused.
    Auth,
    /// Cancelled (Ctrl-C, a signal).
    Cancelled,
    /// SSH: the session failed after it was set up.
    Ssh,
    /// IPMI: the BMC key K_g does not match.
    Kg,
    /// IPMI: the user may not have the privilege asked for.
    Privilege,
    /// IPMI: the BMC refused what was asked (a cipher suite, an authentication type).
    Refused,
    /// IPMI: the BMC answered with an error.
    Bmc,
    /// IPMI: a reply that does not parse.
    Protocol,
    /// IPMI: the network (resolve, bind, send).
    Network,
    /// IPMI: no password (or K_g) where one was looked for.
    Secret,
    /// IPMI: the session is closed or in use.
    Closed,
    /// Remote: the gateway a host was reached through failed (down, died, not a ctys).
    Gateway,
    /// In use elsewhere (IPMI: a console active on another session).
    Busy,
    /// The other side ended the stream (a console the BMC deactivated).
    Eof,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::NotFound => "notfound",
            Kind::Permission => "permission",
            Kind::Exists => "exists",
            Kind::Untrusted => "untrusted",
            Kind::TooLarge => "toolarge",
            Kind::Timeout => "timeout",
            Kind::Io => "io",
            Kind::NoDevice => "nodevice",
            Kind::Invalid => "invalid",
            Kind::Other => "other",
            Kind::NotSupported => "unsupported",
            Kind::UnsupportedMode => "mode",
            Kind::Resolve => "resolve",
            Kind::Connect => "connect",
            Kind::HostKey => "hostkey",
            Kind::Auth => "auth",
            Kind::Cancelled => "cancelled",
            Kind::Ssh => "ssh",
            Kind::Kg => "kg",
            Kind::Privilege => "privilege",
            Kind::Refused => "refused",
            Kind::Bmc => "bmc",
            Kind::Protocol => "protocol",
            Kind::Network => "network",
            Kind::Secret => "secret",
            Kind::Closed => "closed",
            Kind::Gateway => "gateway",
            Kind::Busy => "busy",
            Kind::Eof => "eof",
        }
    }

    /// The kind `name()` gives that name (a gateway's reply names kinds).
    pub fn from_name(name: &str) -> Option<Kind> {
        use Kind::*;
        [NotFound, Permission, Exists, Untrusted, TooLarge, Timeout, Io, NoDevice, Invalid, Other, NotSupported, UnsupportedMode, Resolve,
            Connect, HostKey, Auth, Cancelled, Ssh, Kg, Privilege, Refused, Bmc, Protocol, Network, Secret, Closed, Gateway, Busy, Eof]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The kind of an I/O error.
    pub fn of_io(e: &std::io::Error) -> Kind {
        use std::io::ErrorKind as E;
        match e.kind() {
            E::NotFound => Kind::NotFound,
            E::PermissionDenied => Kind::Permission,
            E::AlreadyExists => Kind::Exists,
            E::TimedOut | E::WouldBlock => Kind::Timeout,
            _ => Kind::Io,
        }
    }
}

/// A failure: its kind and a message that names what failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }

    /// An I/O error about `what` (a path, usually; shown cut when absurdly long).
    pub fn io(what: impl fmt::Display, e: &std::io::Error) -> Failure {
        Failure::new(Kind::of_io(e), format!("{}: {e}", shown(&what.to_string())))
    }
}

/// A value as a message shows it: whole up to 1024 bytes (any real path), else its first 60 and
/// last 12 characters, so a 100 KB argument never becomes a 100 KB message.
pub fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= 1024 {
        return s.into();
    }
    let head: String = s.chars().take(60).collect();
    let tail: String = s.chars().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}...{tail}").into()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
