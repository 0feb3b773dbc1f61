//! Redfish (DMTF DSP0266) for one computer system behind a BMC: the service root, a session
//! (SessionService) when the service offers one, always deleted on close, else HTTP basic
//! auth; the system found by id, name or UUID. Power, boot override and identify are in
//! system.rs. Every request bounded (http.rs); a Redfish error body becomes the message.
pub mod system;

use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use super::failure::{shown, Failure, Kind};
use super::http::{Client, Response, Tls};

pub use system::Boot;

/// How to reach and log in to one system's BMC.
pub struct Config {
    pub host: String,
    pub port: u16,
    /// The system's Id, Name or UUID; None: the service's only system.
    pub system: Option<String>,
    pub user: String,
    pub password: Zeroizing<Vec<u8>>,
    pub tls: Tls,
    /// Each request's bound.
    pub timeout: Duration,
    /// Names the BMC in messages (`redfish HOST:PORT`).
    pub label: String,
}

enum Auth {
    Basic(Zeroizing<String>),
    /// X-Auth-Token, and the session's URI to DELETE.
    Session(Zeroizing<String>, String),
}

/// The most systems walked to find one by name or UUID.
const MAX_MEMBERS: usize = 1024;
/// Redfish documents are small; anything past this is refused unread.
const MAX_BODY: usize = 4 << 20;

/// A logged-in client for one system.
pub struct Redfish {
    http: Client,
    auth: Auth,
    pub label: String,
    /// The system's URI, and its Id, Name and UUID as the service gave them.
    pub path: String,
    pub id: String,
    pub name: String,
    pub uuid: String,
    /// The system document `open` just read, for the first call that needs it within a second
    /// (a `power status` right after open costs no second GET).
    fresh: Option<(std::time::Instant, Value)>,
}

/// The Redfish message of an error body: its extended info's messages, else its message.
fn error_text(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    let infos: Vec<&str> = e.get("@Message.ExtendedInfo").and_then(Value::as_array).into_iter().flatten().filter_map(|i| i.get("Message").and_then(Value::as_str)).collect();
    if !infos.is_empty() {
        return Some(infos.join("; "));
    }
    e.get("message").and_then(Value::as_str).map(str::to_string)
}

/// An error status as a failure: its kind from the status, its message from the body.
fn status_failure(label: &str, what: &str, r: &Response) -> Failure {
    let text = error_text(&r.body).unwrap_or_else(|| {
        let t = String::from_utf8_lossy(&r.body);
        let t = t.trim();
        if t.is_empty() { "no details".into() } else { shown(&t.chars().take(200).collect::<String>()).into_owned() }
    });
    let kind = match r.status {
        401 => Kind::Auth,
        403 => Kind::Privilege,
        404 => Kind::NotFound,
        _ => Kind::Bmc,
    };
    let hint = if r.status == 401 { "wrong user or password: " } else { "" };
    Failure::new(kind, format!("{}{what}: HTTP {}: {hint}{text}", prefix(label), r.status))
}

/// A JSON document, or a protocol failure naming what came instead.
fn json(label: &str, what: &str, r: &Response) -> Result<Value, Failure> {
    serde_json::from_slice(&r.body).map_err(|e| {
        let start: String = String::from_utf8_lossy(&r.body[..r.body.len().min(60)]).chars().filter(|c| !c.is_control()).collect();
        Failure::new(Kind::Protocol, format!("{}{what}: not a JSON document ({e}): {start:?}", prefix(label)))
    })
}

/// A member link's target (`{"@odata.id": "..."}`) under `key`.
fn link<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.get("@odata.id")?.as_str()
}

/// A path from the service, refused unless it is one (no scheme, no other host, no spaces).
fn service_path(label: &str, p: &str) -> Result<String, Failure> {
    if p.starts_with('/') && !p.starts_with("//") && p.len() < 2048 && p.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(p.to_string())
    } else {
        Err(Failure::new(Kind::Protocol, format!("{}the service gave a bad link {:?}", prefix(label), shown(p))))
    }
}

/// The text of a string field, or "".
pub(crate) fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// `label: `, or nothing for an empty label (the caller names the BMC itself).
pub(crate) fn prefix(label: &str) -> String {
    if label.is_empty() { String::new() } else { format!("{label}: ") }
}

impl Redfish {
    /// A failure named with this BMC's label.
    pub(crate) fn fail(&self, kind: Kind, msg: String) -> Failure {
        Failure::new(kind, format!("{}{msg}", prefix(&self.label)))
    }

    /// Logs in and finds the system. Wrong credentials fail with kind auth, an untrusted
    /// certificate with untrusted, a system that is not there with notfound (naming those that are).
    pub fn open(cfg: &Config) -> Result<Redfish, Failure> {
        let label = cfg.label.clone();
        let mut http = Client::new(&cfg.host, cfg.port, &cfg.tls, cfg.timeout, &label)?;
        http.max_body = MAX_BODY;
        let r = http.request("GET", "/redfish/v1/", &[], None)?;
        if r.status != 200 {
            let mut f = status_failure(&label, "the service root", &r);
            if f.kind == Kind::NotFound {
                f.kind = Kind::Protocol;
                f.message = format!("{}not a Redfish service (GET /redfish/v1/: HTTP 404)", prefix(&label));
            }
            return Err(f);
        }
        let root = json(&label, "the service root", &r)?;
        let systems = link(&root, "Systems").ok_or_else(|| Failure::new(Kind::Protocol, format!("{}the service root names no Systems collection", prefix(&label))))?;
        let systems = service_path(&label, systems)?;
        let password = Zeroizing::new(String::from_utf8_lossy(&cfg.password).into_owned());
        let mut rf = Redfish { http, auth: Auth::Basic(basic(&cfg.user, &password)), label, path: String::new(), id: String::new(), name: String::new(), uuid: String::new(), fresh: None };
        if let Some(sessions) = root.get("Links").and_then(|l| link(l, "Sessions")) {
            rf.login(&service_path(&rf.label, sessions)?, &cfg.user, &password)?;
        }
        rf.find(&systems, cfg.system.as_deref())?;
        Ok(rf)
    }

    /// A session through SessionService; a service that refuses to make one (other than for
    /// the credentials) leaves basic auth in place.
    fn login(&mut self, sessions: &str, user: &str, password: &str) -> Result<(), Failure> {
        let body = Zeroizing::new(serde_json::json!({ "UserName": user, "Password": password }).to_string());
        let r = self.http.request("POST", sessions, &[], Some(body.as_bytes()))?;
        if r.status == 401 || r.status == 403 {
            return Err(status_failure(&self.label, "log in", &r));
        }
        if !(200..300).contains(&r.status) {
            return Ok(());
        }
        let (Some(token), Some(location)) = (r.header("X-Auth-Token"), r.header("Location")) else {
            return Ok(());
        };
        // Location may be absolute: only its path is used, on this same service.
        let path = location.find("/redfish/").map_or(location, |i| &location[i..]);
        self.auth = Auth::Session(Zeroizing::new(token.to_string()), service_path(&self.label, path)?);
        Ok(())
    }

    /// Finds the system: by Id directly, else by walking the collection (Id, Name, UUID).
    fn find(&mut self, systems: &str, want: Option<&str>) -> Result<(), Failure> {
        if let Some(w) = want.filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))) {
            let (path, r) = self.fetch(&format!("{}/{w}", systems.trim_end_matches('/')))?;
            if r.status == 200 {
                return self.take_system(&path, &json(&self.label, "the system", &r)?);
            }
            if r.status != 404 {
                return Err(status_failure(&self.label, &format!("GET {path}"), &r));
            }
        }
        let coll = self.get(systems)?;
        let members: Vec<&str> = coll.get("Members").and_then(Value::as_array).into_iter().flatten().filter_map(|m| m.get("@odata.id").and_then(Value::as_str)).take(MAX_MEMBERS).collect();
        let mut seen = Vec::new();
        for m in members {
            let path = service_path(&self.label, m)?;
            let sys = self.get(&path)?;
            let (id, name, uuid) = (text(&sys, "Id"), text(&sys, "Name"), text(&sys, "UUID"));
            let hit = match want {
                Some(w) => w == id || w == name || w.eq_ignore_ascii_case(&uuid),
                None => false,
            };
            if hit {
                return self.take_system(&path, &sys);
            }
            seen.push((path, sys, if name.is_empty() || name == id { id } else { format!("{id} ({name})") }));
        }
        match (want, seen.len()) {
            (None, 1) => {
                let (path, sys, _) = seen.remove(0);
                self.take_system(&path, &sys)
            }
            (None, 0) => Err(self.fail(Kind::NotFound, format!("the service has no systems"))),
            (None, _) => Err(self.fail(Kind::Invalid, format!("{} systems: name one: {}", seen.len(), names(&seen)))),
            (Some(w), _) => Err(self.fail(Kind::NotFound, format!("no system {:?}; the service has: {}", shown(w), if seen.is_empty() { "none".into() } else { names(&seen) }))),
        }
    }

    fn take_system(&mut self, path: &str, sys: &Value) -> Result<(), Failure> {
        self.path = path.to_string();
        self.id = text(sys, "Id");
        self.name = text(sys, "Name");
        self.uuid = text(sys, "UUID");
        self.fresh = Some((std::time::Instant::now(), sys.clone()));
        Ok(())
    }

    /// A request with this session's credentials.
    pub(crate) fn send(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Response, Failure> {
        let h = match &self.auth {
            Auth::Basic(b) => ("Authorization", b.as_str()),
            Auth::Session(t, _) => ("X-Auth-Token", t.as_str()),
        };
        self.http.request(method, path, &[h], body)
    }

    /// A GET that follows the service's redirects (3 at most, to paths on the same service;
    /// sushy-tools sends a system asked for by name to its UUID); the final path too.
    fn fetch(&mut self, path: &str) -> Result<(String, Response), Failure> {
        let mut path = path.to_string();
        for _ in 0..4 {
            let r = self.send("GET", &path, None)?;
            match r.header("Location") {
                Some(loc) if matches!(r.status, 301 | 302 | 303 | 307 | 308) => {
                    let loc = loc.find("/redfish/").map_or(loc, |i| &loc[i..]);
                    path = service_path(&self.label, loc)?;
                }
                _ => return Ok((path, r)),
            }
        }
        Err(self.fail(Kind::Protocol, format!("GET {path}: redirected more than 3 times")))
    }

    /// A document the service must have.
    pub(crate) fn get(&mut self, path: &str) -> Result<Value, Failure> {
        let r = self.fetch(path)?.1;
        if r.status != 200 {
            return Err(status_failure(&self.label, &format!("GET {path}"), &r));
        }
        json(&self.label, &format!("GET {path}"), &r)
    }

    /// A POST or PATCH whose answer is only its status (200, 202, 204).
    pub(crate) fn change(&mut self, method: &str, path: &str, body: &Value, what: &str) -> Result<(), Failure> {
        let r = self.send(method, path, Some(body.to_string().as_bytes()))?;
        if (200..300).contains(&r.status) {
            Ok(())
        } else {
            Err(status_failure(&self.label, what, &r))
        }
    }

    /// Deletes the session, if there is one (a leaked session is a slot the BMC lacks until it
    /// times out); basic auth has none. Also done on drop.
    pub fn close(&mut self) {
        if let Auth::Session(_, path) = &self.auth {
            let path = path.clone();
            self.http.timeout = self.http.timeout.min(Duration::from_secs(5));
            if let Err(e) = self.send("DELETE", &path, None) {
                log::warn!("{}: the session was not deleted: {}", self.label, e.message);
            }
            self.auth = Auth::Basic(Zeroizing::new(String::new()));
        }
    }

    /// Whether the login is a session of SessionService (else basic auth).
    pub fn has_session(&self) -> bool {
        matches!(self.auth, Auth::Session(..))
    }
}

impl Drop for Redfish {
    fn drop(&mut self) {
        self.close();
    }
}

fn basic(user: &str, password: &str) -> Zeroizing<String> {
    use base64::Engine;
    let pair = Zeroizing::new(format!("{user}:{password}"));
    Zeroizing::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())))
}

fn names(seen: &[(String, Value, String)]) -> String {
    let mut s: Vec<&str> = seen.iter().map(|x| x.2.as_str()).take(20).collect();
    if seen.len() > 20 {
        s.push("...");
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_the_message() {
        let body = br#"{"error":{"code":"Base.1.0.GeneralError","message":"general","@Message.ExtendedInfo":[{"Message":"The value 'X' for ResetType is not allowed."},{"Message":"Second."}]}}"#;
        assert_eq!(error_text(body).unwrap(), "The value 'X' for ResetType is not allowed.; Second.");
        assert_eq!(error_text(br#"{"error":{"message":"Power state PowerCycle is not supported"}}"#).unwrap(), "Power state PowerCycle is not supported");
        assert_eq!(error_text(b"<html>"), None);
        let r = Response { status: 500, headers: vec![], body: b"<html><body>Internal\x01 error</body></html>".to_vec() };
        let f = status_failure("redfish h:443", "GET /x", &r);
        assert_eq!(f.kind, Kind::Bmc);
        assert!(f.message.starts_with("redfish h:443: GET /x: HTTP 500: <html>"), "{}", f.message);
        let r = Response { status: 401, headers: vec![], body: vec![] };
        assert_eq!(status_failure("l", "w", &r).kind, Kind::Auth);
    }

    #[test]
    fn links_from_the_service_must_be_paths_on_it() {
        assert!(service_path("l", "/redfish/v1/Systems/1").is_ok());
        for bad in ["https://evil/redfish", "//evil/x", "/a b", "", "/\u{7f}"] {
            assert_eq!(service_path("l", bad).unwrap_err().kind, Kind::Protocol, "{bad:?}");
        }
    }
}
