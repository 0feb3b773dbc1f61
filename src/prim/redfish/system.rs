//! What is done to the system: power (ComputerSystem.Reset with the system's own allowed
//! ResetType values, then PowerState polled until it reads the wanted state: a 204 is not a
//! result), the boot source override and the identify indicator.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{service_path, text, Redfish};
use crate::prim::failure::{shown, Failure, Kind};

/// The ResetType values that carry out each verb, in order of preference.
fn candidates(verb: &str) -> Option<&'static [&'static str]> {
    Some(match verb {
        "on" => &["On", "ForceOn"],
        "off" => &["ForceOff"],
        "soft" => &["GracefulShutdown"],
        "reset" => &["ForceRestart"],
        "cycle" => &["PowerCycle"],
        "diag" => &["Nmi"],
        _ => return None,
    })
}

/// How a verb is carried out.
#[derive(Debug, PartialEq)]
pub enum Choice {
    Reset(&'static str),
    /// cycle where PowerCycle is not allowed: ForceOff, then On.
    OffThenOn,
}

/// The first of the verb's ResetType values the system allows (all, when it lists none), or
/// why there is none, naming what it allows.
pub fn choose(verb: &str, cands: &[&'static str], allowed: &[String]) -> Result<Choice, String> {
    if let Some(c) = cands.iter().find(|c| allowed.is_empty() || allowed.iter().any(|a| a == *c)) {
        return Ok(Choice::Reset(c));
    }
    if verb == "cycle" && ["ForceOff", "On"].iter().all(|c| allowed.iter().any(|a| a == c)) {
        return Ok(Choice::OffThenOn);
    }
    Err(format!("the system allows no {} for '{verb}'; it allows: {}", cands.join(" or "), allowed.join(", ")))
}

/// The PowerState a verb ends in, when it ends in one.
fn wanted(verb: &str) -> Option<&'static str> {
    match verb {
        "on" | "cycle" => Some("On"),
        "off" | "soft" => Some("Off"),
        _ => None,
    }
}

/// PowerState as ctys says it: on, off, powering-on, powering-off (others lower-cased).
pub fn state_word(s: &str) -> String {
    match s {
        "On" => "on".into(),
        "Off" => "off".into(),
        "PoweringOn" => "powering-on".into(),
        "PoweringOff" => "powering-off".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// A boot override as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Boot {
    pub target: String,
    pub enabled: String,
    pub mode: String,
    pub allowed: Vec<String>,
}

/// Our boot device names (ipmitool's) for BootSourceOverrideTarget.
pub fn boot_target(dev: &str) -> Option<&'static str> {
    Some(match dev {
        "none" => "None",
        "pxe" => "Pxe",
        "disk" => "Hdd",
        "cdrom" => "Cd",
        "bios" => "BiosSetup",
        "floppy" => "Floppy",
        "usb" => "Usb",
        "diag" => "Diags",
        "http" => "UefiHttp",
        _ => return None,
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

impl Redfish {
    /// The system document, now (the one open read, the first time).
    pub fn system(&mut self) -> Result<Value, Failure> {
        if let Some((at, doc)) = self.fresh.take() {
            if at.elapsed() < Duration::from_secs(1) {
                return Ok(doc);
            }
        }
        let p = self.path.clone();
        self.get(&p)
    }

    /// PowerState as the service reports it (On, Off, PoweringOn, PoweringOff).
    pub fn power_state(&mut self) -> Result<String, Failure> {
        let s = self.system()?;
        match s.get("PowerState").and_then(Value::as_str) {
            Some(p) => Ok(p.to_string()),
            None => Err(self.fail(Kind::Protocol, format!("the system reports no PowerState"))),
        }
    }

    /// The Reset action's target and the ResetType values it allows (from the action's
    /// AllowableValues, else its ActionInfo; empty when the service lists none).
    fn reset_action(&mut self, sys: &Value) -> Result<(String, Vec<String>), Failure> {
        let a = sys.get("Actions").and_then(|a| a.get("#ComputerSystem.Reset"))
            .ok_or_else(|| self.fail(Kind::NotSupported, format!("the system has no ComputerSystem.Reset action")))?;
        let target = service_path(&self.label, a.get("target").and_then(Value::as_str).unwrap_or(""))?;
        let mut allowed = strings(a.get("ResetType@Redfish.AllowableValues"));
        if allowed.is_empty() {
            if let Some(info) = a.get("@Redfish.ActionInfo").and_then(Value::as_str) {
                let info = self.get(&service_path(&self.label, info)?)?;
                let params = info.get("Parameters").and_then(Value::as_array).into_iter().flatten();
                for p in params.filter(|p| p.get("Name").and_then(Value::as_str) == Some("ResetType")) {
                    allowed = strings(p.get("AllowableValues"));
                }
            }
        }
        Ok((target, allowed))
    }

    /// The ResetType values the system document `sys` allows (none when it does not say).
    pub fn allowed_resets(&mut self, sys: &Value) -> Result<Vec<String>, Failure> {
        Ok(self.reset_action(sys)?.1)
    }

    /// One power verb: status (the state word), on, off, soft, cycle, reset, diag. Verbs that end
    /// in a state poll PowerState every 0.5 s until it reads it, for at most `wait` (zero: do not
    /// wait); on, off and soft do nothing to a system already there. `cycle` without PowerCycle
    /// is ForceOff, then On once Off reads. Returns the state word reached, or "done".
    pub fn power(&mut self, verb: &str, wait: Duration, cancel: &AtomicBool) -> Result<String, Failure> {
        let sys = self.system()?;
        let now = text(&sys, "PowerState");
        if verb == "status" {
            if now.is_empty() {
                return Err(self.fail(Kind::Protocol, format!("the system reports no PowerState")));
            }
            return Ok(state_word(&now));
        }
        let Some(cands) = candidates(verb) else {
            return Err(self.fail(Kind::Invalid, format!("no power action {:?} (status, on, off, soft, cycle, reset, diag)", shown(verb))));
        };
        if matches!(verb, "on" | "off" | "soft") && Some(now.as_str()) == wanted(verb) {
            return Ok(state_word(&now));
        }
        let (target, allowed) = self.reset_action(&sys)?;
        let reset = match choose(verb, cands, &allowed) {
            Ok(Choice::Reset(r)) => r,
            Ok(Choice::OffThenOn) => {
                if now != "Off" {
                    self.reset(&target, "ForceOff")?;
                    // On only once Off reads: this wait is needed even when the caller's is not.
                    let off_wait = if wait.is_zero() { Duration::from_secs(60) } else { wait };
                    self.await_state("Off", "ForceOff", off_wait, cancel)?;
                }
                self.reset(&target, "On")?;
                return self.settle("On", "On", wait, cancel);
            }
            Err(why) => return Err(self.fail(Kind::NotSupported, why)),
        };
        self.reset(&target, reset)?;
        match wanted(verb) {
            Some(w) => self.settle(w, reset, wait, cancel),
            None => Ok("done".into()),
        }
    }

    fn reset(&mut self, target: &str, reset: &str) -> Result<(), Failure> {
        self.change("POST", target, &json!({ "ResetType": reset }), &format!("ResetType {reset}"))
    }

    /// The state word after waiting for `state` (or at once when `wait` is zero: what it reads).
    fn settle(&mut self, state: &str, after: &str, wait: Duration, cancel: &AtomicBool) -> Result<String, Failure> {
        if wait.is_zero() {
            return Ok("requested".into());
        }
        self.await_state(state, after, wait, cancel).map(|_| state_word(state))
    }

    fn await_state(&mut self, state: &str, after: &str, wait: Duration, cancel: &AtomicBool) -> Result<(), Failure> {
        let deadline = Instant::now() + wait;
        loop {
            let now = self.power_state()?;
            if now == state {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.fail(Kind::Timeout, format!(
                    "PowerState still {now} {} s after ResetType {after} (wanted {state})", wait.as_secs_f64()
                )));
            }
            let until = (Instant::now() + Duration::from_millis(500)).min(deadline);
            while Instant::now() < until {
                if cancel.load(Ordering::Relaxed) {
                    return Err(self.fail(Kind::Cancelled, format!("cancelled waiting for PowerState {state}")));
                }
                std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
            }
        }
    }

    /// The boot override now.
    pub fn boot(&mut self) -> Result<Boot, Failure> {
        let sys = self.system()?;
        let b = sys.get("Boot").cloned().unwrap_or(Value::Null);
        Ok(Boot {
            target: text(&b, "BootSourceOverrideTarget"),
            enabled: text(&b, "BootSourceOverrideEnabled"),
            mode: text(&b, "BootSourceOverrideMode"),
            allowed: strings(b.get("BootSourceOverrideTarget@Redfish.AllowableValues")),
        })
    }

    /// Sets the boot override: `dev` (boot_target's names), once or continuous, UEFI or Legacy
    /// when given. A target the system does not list is refused, naming those it does.
    pub fn set_boot(&mut self, dev: &str, once: bool, mode: Option<&str>) -> Result<(), Failure> {
        let Some(target) = boot_target(dev) else {
            return Err(self.fail(Kind::Invalid, format!("no boot device {:?} (none, pxe, disk, cdrom, bios, floppy, usb, diag, http)", shown(dev))));
        };
        let now = self.boot()?;
        if target != "None" && !now.allowed.is_empty() && !now.allowed.iter().any(|a| a == target) {
            return Err(self.fail(Kind::NotSupported, format!("the system cannot boot from {target}; it allows: {}", now.allowed.join(", "))));
        }
        let mut boot = json!({
            "BootSourceOverrideTarget": target,
            "BootSourceOverrideEnabled": if target == "None" { "Disabled" } else if once { "Once" } else { "Continuous" },
        });
        if let Some(m) = mode {
            boot["BootSourceOverrideMode"] = json!(m);
        }
        let p = self.path.clone();
        self.change("PATCH", &p, &json!({ "Boot": boot }), &format!("boot override {target}"))
    }

    /// Turns the identify indicator on or off: LocationIndicatorActive where the system has it
    /// (Redfish 2020.3 on), else IndicatorLED (Blinking/Off). Redfish gives it no duration.
    pub fn identify(&mut self, on: bool) -> Result<(), Failure> {
        let sys = self.system()?;
        let body = if sys.get("LocationIndicatorActive").is_some() {
            json!({ "LocationIndicatorActive": on })
        } else if sys.get("IndicatorLED").is_some() {
            json!({ "IndicatorLED": if on { "Blinking" } else { "Off" } })
        } else {
            return Err(self.fail(Kind::NotSupported, format!("the system has no identify indicator")));
        };
        let p = self.path.clone();
        self.change("PATCH", &p, &body, "identify")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_map_onto_what_the_system_allows() {
        let sushy: Vec<String> = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn"].map(String::from).to_vec();
        let c = |v: &str, allowed: &[String]| choose(v, candidates(v).unwrap(), allowed);
        assert_eq!(c("on", &sushy), Ok(Choice::Reset("On")));
        assert_eq!(c("cycle", &sushy), Ok(Choice::OffThenOn));
        assert_eq!(c("soft", &sushy), Ok(Choice::Reset("GracefulShutdown")));
        // A BMC that offers only ForceOn for on (some Lenovo XCC firmware).
        assert_eq!(c("on", &["ForceOn".to_string()]), Ok(Choice::Reset("ForceOn")));
        assert_eq!(
            c("soft", &["On".to_string(), "ForceOff".to_string()]),
            Err("the system allows no GracefulShutdown for 'soft'; it allows: On, ForceOff".to_string())
        );
        // A service that lists nothing: the first value is tried and the service decides.
        assert_eq!(c("cycle", &[]), Ok(Choice::Reset("PowerCycle")));
        assert!(candidates("bogus").is_none());
    }
}
