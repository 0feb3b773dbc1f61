//! The one failure type of the primitives: what went wrong (a message for people, naming the
//! thing concerned) and its kind (for code: callers branch on kinds, never on message text).
use std::fmt;

/// What kind of failure happened. The Lua side sees `name()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The file, device or entry does not exist.
    NotFound,
    /// The operating system refused (permissions, capabilities).
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
        }
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

    /// An I/O error about `what` (a path, usually).
    pub fn io(what: impl fmt::Display, e: &std::io::Error) -> Failure {
        Failure::new(Kind::of_io(e), format!("{what}: {e}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
