//! The one reading of a number of seconds, for every timeout, interval, delay and sleep: a
//! finite number from 0 to MAX_SECONDS. A value outside that is refused, never clamped or
//! quietly replaced by a default (1e19 overflowed an Instant; 1e300 became 1 s).
use std::time::Duration;

/// The longest wait anything in ctys accepts: 366 days.
pub const MAX_SECONDS: f64 = 366.0 * 86400.0;

/// What a bad value is told.
pub fn refusal(shown: &str) -> String {
    format!("{shown} is not a number of seconds from 0 to {MAX_SECONDS}")
}

/// A number of seconds as a Duration.
pub fn from_secs(v: f64) -> Result<Duration, String> {
    if v.is_finite() && (0.0..=MAX_SECONDS).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(refusal(&format!("{v:?}")))
    }
}

/// Seconds written as text (`1`, `0.5`, `2e1`), as ssh_config and the command lines give them.
pub fn parse(text: &str) -> Result<Duration, String> {
    let shown: String = text.chars().take(40).collect();
    text.trim().parse::<f64>().map_err(|_| refusal(&format!("{shown:?}"))).and_then(|v| from_secs(v).map_err(|_| refusal(&format!("{shown:?}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(from_secs(0.25).unwrap(), Duration::from_millis(250));
        assert_eq!(from_secs(MAX_SECONDS).unwrap().as_secs(), 31_622_400);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e19, 1e300, 1.8e19, MAX_SECONDS + 1.0] {
            assert!(from_secs(bad).is_err(), "{bad}");
        }
        assert_eq!(parse(" 2e1 ").unwrap(), Duration::from_secs(20));
        for bad in ["", "abc", "18446744073709551615", "1e308", "-0.5", "nan", "inf"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("is not a number of seconds from 0 to 31622400"), "{bad}: {e}");
        }
        assert!(parse(&"9".repeat(100_000)).unwrap_err().len() < 120, "the message stays short");
    }
}
