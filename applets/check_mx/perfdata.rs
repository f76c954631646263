//! Performance data in the grammar of the Monitoring Plugins development
//! guidelines ("Performance data"), written by [`Metric`] and read back by
//! [`parse`], the checker the tests run every output through:
//!
//! ```text
//! 'label'=value[UOM];[warn];[crit];[min];[max]
//! ```
//!
//! Metrics are separated by spaces; a label is quoted with `'` (a `'` in it
//! doubled); the value is a decimal in the C locale (`.`), or `U` when it
//! could not be determined; warn and crit are ranges (`10`: alert above 10,
//! `10:`: alert below 10, `~:10`, `10:20`, `@10:20`); trailing empty fields
//! may be left off.

use std::fmt;
use std::time::Duration;

/// The units of measurement the guidelines define.
pub const UNITS: [&str; 9] = ["s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"];

/// Digits after the point for a time in seconds: microseconds.
const SECONDS_DECIMALS: usize = 6;

/// A measured value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A time, written in seconds with the `s` unit.
    Seconds(Duration),
    /// A count or a number of days, without a unit.
    Integer(i64),
    /// Not determined (`U`): the step was never reached.
    Unknown,
}

/// A warning and a critical level of one measure, the guidelines' pair:
/// the `-w`/`-c` thresholds of a check, the `warn;crit` ranges of a metric.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Levels<T> {
    pub warn: T,
    pub crit: T,
}

impl<T> Levels<T> {
    /// Both levels through `f`.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Levels<U> {
        Levels {
            warn: f(self.warn),
            crit: f(self.crit),
        }
    }
}

/// One metric to print.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub label: String,
    pub value: Value,
    /// The warning and critical ranges.
    pub ranges: Levels<Option<String>>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Metric {
    /// A metric without ranges or bounds.
    fn new(label: String, value: Value) -> Metric {
        Metric {
            label,
            value,
            ranges: Levels::default(),
            min: None,
            max: None,
        }
    }

    /// A time in seconds (never below 0); `None` is `U`.
    pub fn seconds(label: String, time: Option<Duration>) -> Metric {
        Metric::new(label, time.map_or(Value::Unknown, Value::Seconds)).bounds(Some(0), None)
    }

    /// A count or number of days, without a unit; `None` is `U`.
    pub fn integer(label: String, value: Option<i64>) -> Metric {
        Metric::new(label, value.map_or(Value::Unknown, Value::Integer))
    }

    /// With warning and critical ranges.
    pub fn thresholds(mut self, ranges: Levels<Option<String>>) -> Metric {
        self.ranges = ranges;
        self
    }

    /// With a minimum and a maximum.
    pub fn bounds(mut self, min: Option<i64>, max: Option<i64>) -> Metric {
        self.min = min;
        self.max = max;
        self
    }
}

/// The range "alert when above `limit`".
pub fn above(limit: impl fmt::Display) -> String {
    limit.to_string()
}

/// The range "alert when below `limit`".
pub fn below(limit: impl fmt::Display) -> String {
    format!("{limit}:")
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'=", self.label.replace('\'', "''"))?;
        match self.value {
            Value::Seconds(time) => write!(f, "{:.*}s", SECONDS_DECIMALS, time.as_secs_f64())?,
            Value::Integer(n) => write!(f, "{n}")?,
            Value::Unknown => f.write_str("U")?,
        }
        let number = |n: Option<i64>| n.map(|n| n.to_string());
        let fields = [
            self.ranges.warn.clone(),
            self.ranges.crit.clone(),
            number(self.min),
            number(self.max),
        ];
        let used = fields
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1);
        for field in &fields[..used] {
            write!(f, ";{}", field.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

/// Every metric, space separated.
pub fn render(metrics: &[Metric]) -> String {
    let texts: Vec<String> = metrics.iter().map(Metric::to_string).collect();
    texts.join(" ")
}

/// A metric as read back by [`parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub label: String,
    /// `None` for `U`.
    pub value: Option<f64>,
    pub unit: String,
    pub warn: Option<String>,
    pub crit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Reads performance data as the guidelines define it; an error names the
/// first thing that breaks the grammar.
pub fn parse(text: &str) -> Result<Vec<Parsed>, String> {
    let mut metrics = Vec::new();
    let mut rest = text.trim_start_matches(' ');
    while !rest.is_empty() {
        let (label, after) = label(rest)?;
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("no '=' after label {label:?}"))?;
        let end = after.find(' ').unwrap_or(after.len());
        let (fields, next) = after.split_at(end);
        metrics.push(metric(label, fields)?);
        rest = next.trim_start_matches(' ');
    }
    Ok(metrics)
}

/// A label, quoted or not, and what follows it.
fn label(text: &str) -> Result<(String, &str), String> {
    let Some(quoted) = text.strip_prefix('\'') else {
        let end = text
            .find('=')
            .ok_or_else(|| format!("no '=' in {text:?}"))?;
        let label = &text[..end];
        if label.is_empty() || label.contains([' ', '\'']) {
            return Err(format!("bad unquoted label {label:?}"));
        }
        return Ok((label.to_owned(), &text[end..]));
    };
    let mut label = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            label.push(c);
        } else if quoted[i + 1..].starts_with('\'') {
            label.push('\'');
            chars.next();
        } else if label.is_empty() {
            return Err("empty label".to_owned());
        } else {
            return Ok((label, &quoted[i + 1..]));
        }
    }
    Err(format!("unterminated label in {text:?}"))
}

/// `value[UOM];[warn];[crit];[min];[max]` of the metric `label`.
fn metric(label: String, text: &str) -> Result<Parsed, String> {
    let fields: Vec<&str> = text.split(';').collect();
    if fields.len() > 5 {
        return Err(format!("{label}: more than five fields in {text:?}"));
    }
    let field = |i: usize| fields.get(i).copied().filter(|f| !f.is_empty());
    let (value, unit) = match fields[0].strip_prefix('U') {
        Some(unit) => (None, unit),
        None => {
            let end = fields[0]
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .unwrap_or(fields[0].len());
            let number = decimal(&fields[0][..end])
                .ok_or_else(|| format!("{label}: bad value {:?}", fields[0]))?;
            (Some(number), &fields[0][end..])
        }
    };
    if !unit.is_empty() && !UNITS.contains(&unit) {
        return Err(format!("{label}: unknown unit {unit:?}"));
    }
    for range in [field(1), field(2)].into_iter().flatten() {
        if !is_range(range) {
            return Err(format!("{label}: bad range {range:?}"));
        }
    }
    let bound = |i: usize| match field(i) {
        None => Ok(None),
        Some(text) => decimal(text)
            .map(Some)
            .ok_or_else(|| format!("{label}: bad min/max {text:?}")),
    };
    let (min, max) = (bound(3)?, bound(4)?);
    Ok(Parsed {
        label,
        value,
        unit: unit.to_owned(),
        warn: field(1).map(str::to_owned),
        crit: field(2).map(str::to_owned),
        min,
        max,
    })
}

/// `-?[0-9]+(\.[0-9]+)?`, in the C locale.
fn decimal(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(whole) && all_digits(fraction))
        .then(|| text.parse().ok())
        .flatten()
}

/// A range of the guidelines: `[@]end`, `[@]start:`, `[@]~:end`,
/// `[@]start:end`.
fn is_range(text: &str) -> bool {
    let text = text.strip_prefix('@').unwrap_or(text);
    match text.split_once(':') {
        None => decimal(text).is_some(),
        Some((start, end)) => {
            (start == "~" || decimal(start).is_some()) && (end.is_empty() || decimal(end).is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_written_in_the_guidelines_grammar() {
        let cases = [
            (
                Metric::seconds(
                    "mx1[192.0.2.1] greeting".into(),
                    Some(Duration::from_micros(1500)),
                )
                .thresholds(Levels {
                    warn: Some(above(5)),
                    crit: Some(above(10.5)),
                }),
                "'mx1[192.0.2.1] greeting'=0.001500s;5;10.5;0",
            ),
            (
                Metric::seconds("a connect".into(), None),
                "'a connect'=U;;;0",
            ),
            (
                Metric::integer("it's days".into(), Some(-3)).thresholds(Levels {
                    warn: Some(below(30)),
                    crit: Some(below(7)),
                }),
                "'it''s days'=-3;30:;7:",
            ),
            (
                Metric::integer("mx_up".into(), Some(1)).bounds(Some(0), Some(2)),
                "'mx_up'=1;;;0;2",
            ),
        ];
        for (metric, text) in cases {
            assert_eq!(metric.to_string(), text);
            assert_eq!(parse(text).map(|m| m.len()), Ok(1), "{text}");
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        let metrics = [
            Metric::seconds("it's x".into(), Some(Duration::from_millis(2))).thresholds(Levels {
                warn: None,
                crit: Some(above(3)),
            }),
            Metric::integer("n".into(), None).bounds(Some(0), None),
        ];
        let parsed = parse(&render(&metrics)).expect("valid perfdata");
        assert_eq!(parsed[0].label, "it's x");
        assert_eq!(parsed[0].value, Some(0.002));
        assert_eq!(parsed[0].unit, "s");
        assert_eq!(parsed[0].crit.as_deref(), Some("3"));
        assert_eq!(parsed[0].min, Some(0.0));
        assert_eq!(parsed[1].value, None);
    }

    #[test]
    fn the_checker_refuses_what_breaks_the_grammar() {
        for bad in [
            "'a'",
            "'a=1",
            "''=1",
            "'a'=1,5s",
            "'a'=1parsecs",
            "'a'=1;;;;;",
            "'a'=1;x",
            "'a'=1;;;zero",
            "a b=1",
            "'a'=.5",
            "'a'=",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for good in [
            "a=1",
            "'a b'=1.5s;1:2;@3:4;0;10",
            "x=U",
            "x=-2c;~:5 y=3%",
            "",
        ] {
            assert!(parse(good).is_ok(), "{good}: {:?}", parse(good));
        }
    }
}
