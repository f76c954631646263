//! A checker of the Prometheus text exposition format (version 0.0.4), as
//! node_exporter's textfile collector reads it: `# HELP` and `# TYPE`
//! lines, samples `name{label="value",...} value [timestamp]`, metric
//! names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`,
//! label values with `\\`, `\"` and `\n` escaped. It also holds a text to
//! what the collector insists on: every family's `# TYPE` before its
//! samples, a family's lines together, no series twice.

/// One sample read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    /// In the order written, values unescaped.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A text read back: its samples in order.
#[derive(Debug)]
pub struct Exposition {
    pub samples: Vec<Sample>,
}

/// The metric types the format names.
const TYPES: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

impl Exposition {
    /// Parses `text`; the first line that breaks the format, and why.
    pub fn parse(text: &str) -> Result<Exposition, String> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err("the last line does not end in a line feed".into());
        }
        let mut reader = Reader::default();
        for (number, line) in text.lines().enumerate() {
            reader
                .line(line)
                .map_err(|why| format!("line {}: {why}: {line:?}", number + 1))?;
        }
        Ok(Exposition {
            samples: reader.samples,
        })
    }

    /// The value of the one sample named `name` whose labels include
    /// `labels`; `None` when there is none; a panic when several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|l| s.has(l.0, l.1)))
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
        found.first().map(|s| s.value)
    }

    /// Every sample named `name`.
    pub fn named(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.label(name) == Some(value)
    }
}

/// What the lines so far said.
#[derive(Default)]
struct Reader {
    samples: Vec<Sample>,
    /// Families with a `# TYPE`, and their type.
    types: Vec<(String, String)>,
    helps: Vec<String>,
    /// The family of the last line, and those finished before it.
    current: Option<String>,
    finished: Vec<String>,
    /// Every series so far: name and sorted labels.
    series: Vec<(String, Vec<(String, String)>)>,
}

impl Reader {
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.trim().is_empty() {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix('#') {
            return self.comment(rest);
        }
        let sample = sample(line)?;
        let family = self.family_of(&sample.name);
        if !self.types.iter().any(|(name, _)| *name == family) {
            return Err(format!("no # TYPE of {family} before its sample"));
        }
        self.enter(&family)?;
        let mut labels = sample.labels.clone();
        labels.sort();
        if labels.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err("a label twice".into());
        }
        let series = (sample.name.clone(), labels);
        if self.series.contains(&series) {
            return Err("the same series twice".into());
        }
        self.series.push(series);
        self.samples.push(sample);
        Ok(())
    }

    /// `# HELP name text`, `# TYPE name type`, or a comment.
    fn comment(&mut self, rest: &str) -> Result<(), String> {
        let mut words = rest.trim_start().splitn(3, ' ');
        let (keyword, name) = (words.next().unwrap_or(""), words.next());
        let seen = match (keyword, name) {
            ("HELP", Some(_)) => &mut self.helps,
            ("TYPE", Some(name)) => {
                let kind = words.next().unwrap_or("").trim();
                if !TYPES.contains(&kind) {
                    return Err(format!("no metric type {kind:?}"));
                }
                if self.samples.iter().any(|s| self.family_of(&s.name) == name) {
                    return Err("# TYPE after the family's samples".into());
                }
                self.types.push((name.to_owned(), kind.to_owned()));
                self.check_name(name)?;
                return self.enter(name);
            }
            _ => return Ok(()),
        };
        let name = name.unwrap_or_default().to_owned();
        if seen.contains(&name) {
            return Err(format!("a second # HELP of {name}"));
        }
        seen.push(name.clone());
        self.check_name(&name)?;
        self.enter(&name)
    }

    fn check_name(&self, name: &str) -> Result<(), String> {
        if is_metric_name(name) {
            Ok(())
        } else {
            Err(format!("not a metric name: {name:?}"))
        }
    }

    /// The family a sample belongs to: its name, or for a histogram's or
    /// summary's `_bucket`, `_sum`, `_count` the name without them.
    fn family_of(&self, name: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self
                    .types
                    .iter()
                    .any(|(n, kind)| n == base && (kind == "histogram" || kind == "summary"))
            {
                return base.to_owned();
            }
        }
        name.to_owned()
    }

    /// A line of `family`: it must not come back after another's.
    fn enter(&mut self, family: &str) -> Result<(), String> {
        if self.current.as_deref() == Some(family) {
            return Ok(());
        }
        if self.finished.iter().any(|f| f == family) {
            return Err(format!("{family}'s lines are not together"));
        }
        if let Some(previous) = self.current.replace(family.to_owned()) {
            self.finished.push(previous);
        }
        Ok(())
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name{labels} value [timestamp]`.
fn sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let (name, mut rest) = line.split_at(end);
    if !is_metric_name(name) {
        return Err(format!("not a metric name: {name:?}"));
    }
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = label_set(inside, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = parse_value(value).ok_or_else(|| format!("not a value: {value:?}"))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("not a timestamp: {timestamp:?}"))?;
    }
    if fields.next().is_some() {
        return Err("more after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Go's float syntax as the format takes it, with `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

/// The labels after `{` up to `}`; the text after the `}`.
fn label_set<'a>(mut rest: &'a str, labels: &mut Vec<(String, String)>) -> Result<&'a str, String> {
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        if !is_label_name(name) {
            return Err(format!("not a label name: {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("a bad escape \\{other:?}")),
                },
                (_, '\n') => return Err("a line feed in a label value".into()),
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_owned(), value));
        rest = &after[end + 1..];
        if let Some(next) = rest.strip_prefix(',') {
            rest = next;
        } else if !rest.starts_with('}') {
            return Err("no , or } after a label".into());
        }
    }
}
