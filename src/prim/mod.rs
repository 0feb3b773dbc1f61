//! The primitives: pure Rust, no Lua. Each is usable and tested on its own.
pub mod duration;
pub mod ethtool;
pub mod failure;
pub mod fs;
pub mod http;
pub mod ipmi;
pub mod net;
pub mod probe;
pub mod proc;
pub mod qmp;
pub mod rawmode;
pub mod remote;
pub mod redfish;
pub mod resolve;
pub mod secret;
pub mod vde;
pub mod wol;
