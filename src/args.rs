//! Command-line values the applets share.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest time accepted: a week is already no limit in practice,
/// and a bound keeps deadline arithmetic far from overflow.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A number of seconds from the command line: a non-negative decimal
/// (`10`, `0.5`) of at most [`MAX_SECONDS`]. Displays as it is written,
/// so a default shows in `--help` as `[default: 10]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl Seconds {
    /// The duration itself (for lifetimes, where 0 means "none").
    pub fn duration(self) -> Duration {
        self.0
    }

    /// As a time limit, where 0 means no limit.
    pub fn limit(self) -> Option<Duration> {
        (!self.0.is_zero()).then_some(self.0)
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Seconds, String> {
        let seconds: f64 = text
            .parse()
            .map_err(|_| format!("'{text}' is not a number of seconds"))?;
        if seconds > MAX_SECONDS {
            return Err(format!(
                "'{text}' is more than a week ({MAX_SECONDS} seconds)"
            ));
        }
        Duration::try_from_secs_f64(seconds)
            .map(Seconds)
            .map_err(|_| format!("'{text}' is not a usable number of seconds"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, String> {
        text.parse::<Seconds>().map(Seconds::duration)
    }

    #[test]
    fn seconds() {
        assert_eq!(parse("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("604800"), Ok(Duration::from_secs(604_800)));
        for bad in ["-1", "NaN", "inf", "1e30", "1e19", "604801", "soon", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_means_no_limit() {
        assert_eq!("0".parse::<Seconds>().map(Seconds::limit), Ok(None));
        let two = Some(Duration::from_secs(2));
        assert_eq!("2".parse::<Seconds>().map(Seconds::limit), Ok(two));
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(Seconds(Duration::from_secs(10)).to_string(), "10");
        assert_eq!(Seconds(Duration::from_millis(500)).to_string(), "0.5");
    }
}
