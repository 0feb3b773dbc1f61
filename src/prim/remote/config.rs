//! The parts of `~/.ssh/config` users rely on: `Host` blocks with patterns (`*`, `?`, `!`),
//! HostName, Port, User, IdentityFile, IdentitiesOnly, IdentityAgent, UserKnownHostsFile,
//! StrictHostKeyChecking, ConnectTimeout, ServerAliveInterval. As in OpenSSH the first value
//! obtained wins, except IdentityFile, which accumulates. `Match` blocks are skipped.
use std::path::Path;

/// One `Host` block (lines before the first `Host` form a block that matches every host).
#[derive(Debug, Clone)]
struct Block {
    patterns: Vec<String>,
    options: Vec<(String, String)>,
}

/// A parsed ssh_config file.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
}

/// What the config says about one host; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_files: Vec<String>,
    pub identities_only: Option<bool>,
    pub identity_agent: Option<String>,
    pub known_hosts: Option<Vec<String>>,
    pub strict: Option<String>,
    pub connect_timeout: Option<std::time::Duration>,
    pub server_alive_interval: Option<u32>,
}

/// `*` and `?` glob matching (ASCII case-insensitive), as ssh_config patterns use it.
/// Iterative: on a mismatch it goes back to just after the last `*` and lets that star take
/// one more character, so a pattern of any length costs no stack.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether a pattern list (`a b !c`) matches: some positive pattern does and no negated one.
pub fn patterns_match<S: AsRef<str>>(patterns: &[S], host: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        let p = p.as_ref();
        if let Some(neg) = p.strip_prefix('!') {
            if glob(neg.as_bytes(), host.as_bytes()) {
                return false;
            }
        } else if glob(p.as_bytes(), host.as_bytes()) {
            hit = true;
        }
    }
    hit
}

/// Splits a config line into keyword and argument words (`Key value`, `Key=value`, quotes).
fn words(line: &str) -> Vec<String> {
    let line = line.trim();
    let (key, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
        Some(i) => (&line[..i], line[i..].trim_start().trim_start_matches('=').trim_start()),
        None => (line, ""),
    };
    let mut out = vec![key.to_string()];
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

impl SshConfig {
    /// Parses config text; `origin` names it in errors. Unknown keywords are kept and ignored.
    pub fn parse(text: &str, origin: &str) -> Result<SshConfig, String> {
        SshConfig::parse_bytes(text.as_bytes(), origin)
    }

    /// Parses a config file's bytes: comments may be in any encoding; a setting that is not
    /// UTF-8 is an error naming its line.
    pub fn parse_bytes(text: &[u8], origin: &str) -> Result<SshConfig, String> {
        let mut blocks = vec![Block { patterns: vec!["*".into()], options: Vec::new() }];
        let mut skipping = false;
        for (n, raw) in text.split(|&b| b == b'\n').enumerate() {
            let raw = raw.trim_ascii();
            if raw.is_empty() || raw.starts_with(b"#") {
                continue;
            }
            let line = std::str::from_utf8(raw).map_err(|_| format!("{origin}:{}: not UTF-8 text", n + 1))?;
            let w = words(line);
            let key = w[0].to_ascii_lowercase();
            match key.as_str() {
                "host" => {
                    if w.len() < 2 {
                        return Err(format!("{origin}:{}: 'Host' needs at least one pattern", n + 1));
                    }
                    skipping = false;
                    blocks.push(Block { patterns: w[1..].to_vec(), options: Vec::new() });
                }
                "match" => skipping = true,
                _ if skipping => {}
                _ => {
                    if w.len() < 2 {
                        return Err(format!("{origin}:{}: '{}' needs a value", n + 1, w[0]));
                    }
                    let value = w[1..].join(" ");
                    blocks.last_mut().expect("a block always exists").options.push((key, value));
                }
            }
        }
        Ok(SshConfig { blocks })
    }

    /// Reads a config file (a regular file of at most 16 MiB); a missing file is an empty config.
    pub fn load(path: &Path) -> Result<SshConfig, String> {
        match crate::prim::fs::read(path, super::MAX_FILE, None) {
            Ok(Some(text)) => SshConfig::parse_bytes(&text, &path.display().to_string()),
            Ok(None) => Ok(SshConfig::default()),
            Err(e) => Err(e.message),
        }
    }

    /// The settings for `host` (as typed, before HostName), first value obtained winning.
    pub fn lookup(&self, host: &str) -> Result<HostConfig, String> {
        let mut hc = HostConfig::default();
        for b in self.blocks.iter().filter(|b| patterns_match(&b.patterns, host)) {
            for (k, v) in &b.options {
                let bad = || format!("ssh config: bad {k} value '{v}' for host {host}");
                match k.as_str() {
                    "hostname" => set(&mut hc.hostname, v.clone()),
                    "port" => set(&mut hc.port, v.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad)?),
                    "user" => set(&mut hc.user, v.clone()),
                    "identityfile" => hc.identity_files.push(v.clone()),
                    "identitiesonly" => set(&mut hc.identities_only, yes_no(v).ok_or_else(bad)?),
                    "identityagent" => set(&mut hc.identity_agent, v.clone()),
                    "userknownhostsfile" => set(&mut hc.known_hosts, v.split_whitespace().map(String::from).collect()),
                    "stricthostkeychecking" => set(&mut hc.strict, v.to_ascii_lowercase()),
                    "connecttimeout" => set(&mut hc.connect_timeout, crate::prim::duration::parse(v).map_err(|e| format!("{}: {e}", bad()))?),
                    "serveraliveinterval" => set(&mut hc.server_alive_interval, v.parse().map_err(|_| bad())?),
                    _ => {}
                }
            }
        }
        Ok(hc)
    }
}

fn set<T>(slot: &mut Option<T>, v: T) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

fn yes_no(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Expands `~` and the tokens OpenSSH allows in file names: `%d` home, `%u` local user,
/// `%h` remote host, `%r` remote user, `%%` a percent sign.
pub fn expand_path(s: &str, home: &str, local_user: &str, host: &str, user: &str) -> String {
    let s = match s.strip_prefix("~/") {
        Some(rest) => format!("{home}/{rest}"),
        None if s == "~" => home.to_string(),
        None => s.to_string(),
    };
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('d') => out.push_str(home),
            Some('u') => out.push_str(local_user),
            Some('h') => out.push_str(host),
            Some('r') => out.push_str(user),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "
# global
ConnectTimeout 7
Host lab* !lab99
    User labuser
    Port 2200
    IdentityFile ~/.ssh/lab_key
Host lab01
    HostName 127.0.0.3
    Port 2201
Match host foo
    User ignored
Host *
    User=\"default user\"
    IdentityFile %d/.ssh/id_%r
    StrictHostKeyChecking accept-new
    UserKnownHostsFile /a/known /b/known
";

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let c = SshConfig::parse(CONF, "t").unwrap();
        let h = c.lookup("lab01").unwrap();
        assert_eq!(h.hostname.as_deref(), Some("127.0.0.3"));
        assert_eq!(h.port, Some(2200)); // the lab* block comes first
        assert_eq!(h.user.as_deref(), Some("labuser"));
        assert_eq!(h.identity_files, vec!["~/.ssh/lab_key", "%d/.ssh/id_%r"]);
        assert_eq!(h.connect_timeout, Some(std::time::Duration::from_secs(7)));
        assert_eq!(h.strict.as_deref(), Some("accept-new"));
        assert_eq!(h.known_hosts, Some(vec!["/a/known".to_string(), "/b/known".to_string()]));
    }

    #[test]
    fn negated_patterns_exclude_and_match_blocks_are_skipped() {
        let c = SshConfig::parse(CONF, "t").unwrap();
        let h = c.lookup("lab99").unwrap();
        assert_eq!(h.user.as_deref(), Some("default user"));
        assert_eq!(h.port, None);
        assert_eq!(c.lookup("foo").unwrap().user.as_deref(), Some("default user"));
    }

    #[test]
    fn globbing() {
        assert!(glob(b"h0??", b"h001"));
        assert!(glob(b"*.lab", b"x.y.LAB"));
        assert!(!glob(b"h0?", b"h001"));
        assert!(glob(b"", b"") && glob(b"*", b"") && !glob(b"?", b"") && !glob(b"", b"a"));
        assert!(glob(b"a*b*c", b"aXbYbZc") && !glob(b"a*b*c", b"aXbYbZ"));
        assert!(glob(b"*lab*", b"mylab01") && glob(b"**a", b"ba"));
        assert!(patterns_match(&["127.0.0.*"], "127.0.0.5"));
        // Hostile lengths cost no stack.
        let stars = vec![b'*'; 50_000];
        assert!(glob(&stars, b"host") && !glob(&[&stars[..], b"x"].concat(), b"host"));
        let long: Vec<u8> = b"a*".repeat(100_000);
        assert!(!glob(&long, &b"a".repeat(1000)[..]) && glob(&long, &b"a".repeat(100_000)[..]));
    }

    #[test]
    fn latin1_comments_and_a_huge_host_line() {
        let mut text = b"# caf\xe9\nHost lab1\n  # d\xe9j\xe0 vu\n  Port 2201\n".to_vec();
        let c = SshConfig::parse_bytes(&text, "cfg").unwrap();
        assert_eq!(c.lookup("lab1").unwrap().port, Some(2201));
        text.extend_from_slice(b"User caf\xe9\n");
        assert_eq!(SshConfig::parse_bytes(&text, "cfg").unwrap_err(), "cfg:5: not UTF-8 text");
        let huge = format!("Host {}\n  Port 7\n", "*".repeat(2_000_000));
        assert_eq!(SshConfig::parse(&huge, "cfg").unwrap().lookup("x").unwrap().port, Some(7));
    }

    #[test]
    fn errors_name_file_line_and_value() {
        assert_eq!(SshConfig::parse("Host\n", "cfg").unwrap_err(), "cfg:1: 'Host' needs at least one pattern");
        let c = SshConfig::parse("Port abc\n", "cfg").unwrap();
        assert_eq!(c.lookup("x").unwrap_err(), "ssh config: bad port value 'abc' for host x");
        let c = SshConfig::parse("Port 0\n", "cfg").unwrap();
        assert_eq!(c.lookup("x").unwrap_err(), "ssh config: bad port value '0' for host x");
    }

    #[test]
    fn path_tokens() {
        assert_eq!(expand_path("~/.ssh/id_%r@%h%%", "/home/a", "a", "h1", "root"), "/home/a/.ssh/id_root@h1%");
        assert_eq!(expand_path("%d/k-%u", "/home/a", "a", "h", "r"), "/home/a/k-a");
    }
}
