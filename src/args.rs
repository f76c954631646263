//! Command-line value parsers shared by the applets.

use std::ffi::OsString;
use std::time::Duration;

/// Exit status of a command-line usage error in every applet (clap's too).
pub const EXIT_USAGE: u8 = 2;

/// Parses an applet's command line. For `--help` and `--version` prints
/// clap's text and returns `Err(0)`; for a usage error prints clap's
/// message and returns `Err(EXIT_USAGE)`.
pub fn parse_or_status<T: clap::Parser>(args: Vec<OsString>) -> Result<T, u8> {
    T::try_parse_from(args).map_err(|err| {
        let _ = err.print();
        if err.use_stderr() { EXIT_USAGE } else { 0 }
    })
}

/// The longest time limit accepted: a week is already no limit in practice,
/// and a bound keeps deadline arithmetic far from overflow.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// Seconds as a non-negative decimal number (`10`, `0.5`), at most
/// [`MAX_SECONDS`]; for clap's `value_parser`.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if seconds > MAX_SECONDS {
        return Err(format!(
            "'{text}' is more than a week ({MAX_SECONDS} seconds)"
        ));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("'{text}' is not a usable number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("604800"), Ok(Duration::from_secs(604_800)));
        for bad in ["-1", "NaN", "inf", "1e30", "1e19", "604801", "soon", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
