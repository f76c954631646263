//! check_mx's output read as the plugin contract says (Monitoring Plugins
//! guidelines): `MX STATUS - summary | perfdata`, then detail lines; the
//! performance data parsed back by `smtpbox::check_mx::perfdata::parse`.

use smtpbox::check_mx::perfdata::{Parsed, parse};

/// The plugin statuses, indexed by exit status.
pub const PLUGIN_STATUSES: [&str; 4] = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];

/// What a check_mx run printed.
#[derive(Debug)]
pub struct Plugin {
    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub status: String,
    /// The text between `MX STATUS - ` and ` | `.
    pub summary: String,
    pub perfdata: Vec<Parsed>,
    /// The lines after the first.
    pub details: Vec<String>,
}

impl Plugin {
    /// Reads `stdout` as plugin output; `Err` says how it breaks the
    /// contract (no `MX STATUS - ` first line, an unknown status, perfdata
    /// out of grammar).
    pub fn read(stdout: &str) -> Result<Plugin, String> {
        let mut lines = stdout.lines();
        let first = lines.next().unwrap_or_default();
        let rest = first
            .strip_prefix("MX ")
            .ok_or("the first line is not `MX ...`")?;
        let (status, rest) = rest.split_once(" - ").ok_or("no ` - ` on the first line")?;
        if !PLUGIN_STATUSES.contains(&status) {
            return Err(format!("unknown status {status:?}"));
        }
        let (summary, perfdata) = rest.split_once(" | ").unwrap_or((rest, ""));
        let perfdata = parse(perfdata).map_err(|e| format!("perfdata out of grammar: {e}"))?;
        Ok(Plugin {
            status: status.to_owned(),
            summary: summary.to_owned(),
            perfdata,
            details: lines.map(str::to_owned).collect(),
        })
    }

    /// The value of the metric `label` (`None` for `U`); fails when absent.
    pub fn metric(&self, label: &str) -> Option<f64> {
        self.parsed(label).value
    }

    /// The metric `label` as a whole; fails when absent.
    pub fn parsed(&self, label: &str) -> &Parsed {
        let found = self.perfdata.iter().find(|m| m.label == label);
        found.unwrap_or_else(|| panic!("no metric {label:?}: {self:#?}"))
    }
}
