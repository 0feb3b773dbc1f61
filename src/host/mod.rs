//! The Lua host: one Lua 5.4 state, the module loader, a current-thread tokio runtime with a
//! LocalSet for async primitives, Ctrl-C handling, error rendering, and the REPL.
mod interrupt;
mod loader;
pub mod repl;

pub use loader::read_source;

use std::ffi::OsString;
use std::future::Future;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::Poll;

use mlua::{FromLuaMulti, Function, HookTriggers, IntoLuaMulti, Lua, MultiValue, Table, Value, VmState};

pub use interrupt::EXIT_INTERRUPTED;

/// Exit value for erroneous parameters (and Lua errors in scripts).
pub const EXIT_USAGE: i32 = 1;
/// Exit value for a missing environment element: a tool, file, permission or database.
pub const EXIT_ENV: i32 = 2;

/// The most memory the Lua state may use: 4 GiB.
pub const LUA_MEMORY_LIMIT: usize = 4 << 30;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Directories searched before everything else (`--lua-path`), in order.
    pub lua_path: Vec<PathBuf>,
    /// Also search `CTYS_LUA_PATH` (colon-separated), after `lua_path`.
    pub use_env: bool,
    /// Also search `~/.ctys/lua` and `/etc/ctys/lua`, after the above.
    pub use_site: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions { lua_path: Vec::new(), use_env: true, use_site: true }
    }
}

impl HostOptions {
    /// The directories the module loader searches before the embedded copies, in order.
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.lua_path.clone();
        if self.use_env {
            if let Some(v) = std::env::var_os("CTYS_LUA_PATH") {
                dirs.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
            }
        }
        if self.use_site {
            if let Some(home) = std::env::var_os("HOME") {
                dirs.push(Path::new(&home).join(".ctys/lua"));
            }
            dirs.push(PathBuf::from("/etc/ctys/lua"));
        }
        dirs
    }
}

/// A failed run: the exit value, the message and, for errors in Lua code, the traceback.
#[derive(Debug, Clone, PartialEq)]
pub struct HostError {
    pub code: i32,
    pub message: String,
    pub traceback: Option<String>,
}

impl HostError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        HostError { code, message: message.into(), traceback: None }
    }

    fn interrupted() -> Self {
        HostError::new(interrupt::exit_value(), "interrupted")
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(tb) = &self.traceback {
            write!(f, "\n{tb}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HostError {}

impl From<mlua::Error> for HostError {
    fn from(e: mlua::Error) -> Self {
        if interrupt::is_set() {
            return HostError::interrupted();
        }
        HostError::new(EXIT_USAGE, e.to_string())
    }
}

/// An embeddable ctys scripting host.
pub struct Host {
    lua: Lua,
    rt: tokio::runtime::Runtime,
    dirs: Vec<PathBuf>,
}

impl Host {
    /// A host with the `ctys` global, the module loader and the async runtime set up.
    pub fn new(options: HostOptions) -> Result<Host, HostError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .enable_io()
            .build()
            .map_err(|e| HostError::new(EXIT_ENV, format!("cannot start the async runtime: {e}")))?;
        // SAFETY: the debug library is needed for tracebacks; scripts are the user's own code.
        let lua = unsafe { Lua::unsafe_new() };
        // A script (or a data file) that asks for more memory gets a Lua error, not an abort of
        // the whole process when the allocator fails.
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        let dirs = options.search_dirs();
        loader::install(&lua, dirs.clone())?;
        crate::lua_api::register(&lua, &dirs)?;
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(4096), |_, _| {
            if interrupt::is_set() {
                Err(mlua::Error::runtime("interrupted"))
            } else {
                Ok(VmState::Continue)
            }
        })?;
        let ctys: Table = lua.globals().get::<Function>("require")?.call("ctys")?;
        lua.globals().set("ctys", ctys)?;
        Ok(Host { lua, rt, dirs })
    }

    /// The Lua state, for embedders that bind their own functions.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The directories searched for modules before the embedded copies.
    pub fn search_dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Drives a future on the host's runtime inside a fresh LocalSet (tasks a script spawned and
    /// never joined end with it). SIGINT, SIGTERM or SIGHUP makes it return `Err` with exit
    /// value 128 + the signal (130 for Ctrl-C), after the dropped tasks cleaned up.
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, HostError> {
        let _signals = interrupt::install();
        let local = tokio::task::LocalSet::new();
        crate::lua_api::set_in_runtime(true);
        let out = self.rt.block_on(local.run_until(async {
            let mut fut = pin!(fut);
            let mut stop = pin!(interrupt::wait());
            std::future::poll_fn(|cx| {
                if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                    return Poll::Ready(Ok(v));
                }
                stop.as_mut().poll(cx).map(|()| Err(HostError::interrupted()))
            })
            .await
        }));
        crate::lua_api::set_in_runtime(false);
        out
    }

    /// Calls a Lua function with the host's error contract: the exit value of a `ctys.err` error,
    /// 1 for any other Lua error (with its traceback), 128 + N on signal N
    /// (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
    pub fn call<R: FromLuaMulti>(&self, f: Function, args: impl IntoLuaMulti) -> Result<R, HostError> {
        let protect: Function = self.require::<Table>("ctys.run")?.get("protect")?;
        let args = args.into_lua_multi(&self.lua)?;
        let res = self.block_on(protect.call_async::<MultiValue>((f, args)));
        if interrupt::is_set() {
            let e = HostError::interrupted();
            interrupt::clear();
            return Err(e);
        }
        let mut vals = res??.into_iter();
        match vals.next() {
            Some(Value::Boolean(true)) => Ok(R::from_lua_multi(vals.collect(), &self.lua)?),
            _ => {
                let code = vals.next().and_then(|v| v.as_i32()).unwrap_or(EXIT_USAGE);
                // A message may hold any bytes (error("bad \255")): shown with U+FFFD for the rest.
                let message = match vals.next() {
                    Some(Value::String(s)) => s.to_string_lossy(),
                    Some(v) => v.to_string().unwrap_or_default(),
                    None => String::new(),
                };
                let traceback = vals.next().and_then(|v| v.as_string().map(|s| s.to_string_lossy()));
                Err(HostError { code, message, traceback })
            }
        }
    }

    /// `require(name)` in this host.
    pub fn require<R: mlua::FromLua>(&self, name: &str) -> Result<R, HostError> {
        Ok(self.lua.globals().get::<Function>("require")?.call(name)?)
    }

    /// Compiles a chunk of source text (any bytes; a binary chunk is refused); a syntax error
    /// is exit value 1.
    pub fn load(&self, src: impl AsRef<[u8]>, chunk_name: &str) -> Result<Function, HostError> {
        Ok(self.lua.load(src.as_ref()).set_name(chunk_name).set_mode(mlua::chunk::ChunkMode::Text).into_function()?)
    }

    /// Runs a chunk of Lua source and returns its results.
    pub fn eval<R: FromLuaMulti>(&self, src: &str) -> Result<R, HostError> {
        let f = self.load(src, "=(eval)")?;
        self.call(f, ())
    }

    /// Runs a script file as `lua5.4 FILE args...` would: `arg[0]` is the path, `arg[1..]` and
    /// `...` are the arguments. File and arguments are bytes, UTF-8 or not.
    pub fn run_file(&self, path: &Path, args: &[OsString]) -> Result<(), HostError> {
        let shown = path.display().to_string();
        let mut src = std::fs::File::open(path)
            .map_err(|e| format!("cannot read {shown}: {e}"))
            .and_then(|f| loader::read_source(f, &shown))
            .map_err(|e| HostError::new(EXIT_ENV, e))?;
        // A leading #! line is legal in Lua files run as scripts.
        if src.starts_with(b"#!") {
            src.splice(0..0, *b"--");
        }
        let f = self.load(&src, &format!("@{}", path.display()))?;
        let arg = self.lua.create_table()?;
        arg.raw_set(-1, "ctys")?;
        arg.raw_set(0, self.lua.create_string(path.as_os_str().as_bytes())?)?;
        let args = self.strings(args)?;
        for (i, a) in args.iter().enumerate() {
            arg.raw_set(i + 1, a)?;
        }
        self.lua.globals().set("arg", arg)?;
        self.call(f, mlua::Variadic::from_iter(args))
    }

    /// Arguments as Lua strings, byte for byte.
    pub fn strings(&self, args: &[OsString]) -> Result<Vec<mlua::LuaString>, HostError> {
        Ok(args.iter().map(|a| self.lua.create_string(a.as_bytes())).collect::<mlua::Result<_>>()?)
    }
}
