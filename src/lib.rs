//! ctys-rs: ctys (the UnifiedSessionsManager) re-built as an embeddable Lua scripting host.
//!
//! `prim` holds the primitives (pure Rust, no Lua), `lua_api` binds them as `ctys.core`, and the
//! Lua layers (`stdlib/`, `lua/`, embedded in the binary) decide what to do with them.
//!
//! ```no_run
//! let host = ctys::Host::new(ctys::HostOptions::default()).unwrap();
//! let three: i64 = host.eval("return 1 + 2").unwrap();
//! assert_eq!(three, 3);
//! ```
pub mod front;
pub mod host;
mod lua_api;
pub mod modules;
pub mod prim;

pub use host::{Host, HostError, HostOptions};
