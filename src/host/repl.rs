//! The interactive prompt: rustyline does the terminal; `stdlib/ctys/repl.lua` decides what
//! completes and how results print. An incomplete chunk continues on the next line.
use std::io::Write;
use std::path::PathBuf;

use mlua::{Function, Lua, MultiValue, Table};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::{Host, HostError, EXIT_ENV};

struct ReplHelper {
    lua: Lua,
}

/// `return <line>` when that compiles (so `1+2` prints 3), else the line as a statement.
fn compile(lua: &Lua, line: &str) -> mlua::Result<Function> {
    lua.load(format!("return {line}"))
        .set_name("=stdin")
        .into_function()
        .or_else(|_| lua.load(line).set_name("=stdin").into_function())
}

fn repl_module(lua: &Lua) -> mlua::Result<Table> {
    lua.globals().get::<Function>("require")?.call("ctys.repl")
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let res = repl_module(&self.lua)
            .and_then(|m| m.get::<Function>("complete"))
            .and_then(|f| f.call::<(usize, Vec<String>)>(&line[..pos]));
        // Completion must never break the prompt; a failing completer offers nothing.
        Ok(res.unwrap_or((pos, Vec::new())))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        match compile(&self.lua, ctx.input()) {
            Err(mlua::Error::SyntaxError { incomplete_input: true, .. }) => Ok(ValidationResult::Incomplete),
            _ => Ok(ValidationResult::Valid(None)),
        }
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {}
impl Helper for ReplHelper {}

fn history_path() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("HOME")?).join(".ctys");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// Runs the prompt until Ctrl-D. Ctrl-C abandons the line being typed or the running statement.
pub fn run(host: &Host) -> Result<(), HostError> {
    let mut ed: Editor<ReplHelper, DefaultHistory> = Editor::new()
        .map_err(|e| HostError::new(EXIT_ENV, format!("cannot start the line editor: {e}")))?;
    ed.set_helper(Some(ReplHelper { lua: host.lua().clone() }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = ed.load_history(h); // a first run has none yet
    }
    let _ = writeln!(std::io::stdout(), "ctys {} (Lua 5.4) — Ctrl-D exits, Tab completes", env!("CARGO_PKG_VERSION"));
    loop {
        let line = match ed.readline("ctys> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(HostError::new(EXIT_ENV, format!("cannot read the terminal: {e}"))),
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = ed.add_history_entry(line.as_str());
        if let Some(h) = &history {
            let _ = ed.append_history(h);
        }
        let out = compile(host.lua(), &line)
            .map_err(HostError::from)
            .and_then(|f| host.call::<MultiValue>(f, ()))
            .and_then(|vals| {
                let show: Function = repl_module(host.lua())?.get("show")?;
                Ok(show.call::<()>(vals)?)
            });
        match out {
            // SIGTERM or SIGHUP ended the statement: they end the REPL too (Ctrl-C does not).
            Err(e) if e.code > 128 && e.code != super::EXIT_INTERRUPTED => return Err(e),
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "{e}");
            }
            Ok(()) => {}
        }
    }
    Ok(())
}
