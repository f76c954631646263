//! The names this host's sendmail accepts mail for (used when no
//! client-hosts are given): the canonical host name, the `Cw` names of
//! sendmail.cf and the names in every `Fw` file. The parsing is in
//! [`super::sendmail_cf`]; this module does the file reading.

use std::fmt;
use std::path::{Path, PathBuf};

use super::sendmail_cf::{merge_names, parse_cf, parse_class_file};
use crate::files::{self, FileError};
use crate::names::EtrnArgument;
use crate::report::Reporter;

/// The default sendmail configuration.
pub const DEFAULT_SENDMAIL_CF: &str = "/etc/mail/sendmail.cf";
/// sendmail.cf and class files larger than this are not read.
const MAX_CONFIG_LEN: usize = 16 << 20;

/// sendmail.cf, or a class file it names, cannot be read.
#[derive(Debug)]
pub enum DiscoveryError {
    Config(FileError),
    ClassFile {
        sendmail_cf: PathBuf,
        line: usize,
        error: FileError,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Config(error) => write!(f, "{error}"),
            DiscoveryError::ClassFile {
                sendmail_cf,
                line,
                error,
            } => write!(f, "{}:{line}: class file {error}", sendmail_cf.display()),
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// Every accepted name, `localhost` and duplicates skipped, order kept.
/// A missing sendmail.cf or non-optional class file is an error naming it;
/// class-w lines we cannot follow are warned about.
pub fn accepted_names(
    sendmail_cf: &Path,
    canonical_host: &str,
    reporter: &Reporter,
) -> Result<Vec<EtrnArgument>, DiscoveryError> {
    let config = files::read_text(sendmail_cf, MAX_CONFIG_LEN).map_err(DiscoveryError::Config)?;
    let parsed = parse_cf(&config);
    for (line, problem) in &parsed.unsupported {
        reporter.warning(format_args!("{}:{line}: {problem}", sendmail_cf.display()));
    }
    let mut from_files = Vec::new();
    for file in &parsed.files {
        match files::read_text(Path::new(&file.path), MAX_CONFIG_LEN) {
            Ok(text) => from_files.extend(parse_class_file(&text, file.pattern)),
            Err(error) if file.optional && error.is_not_found() => {}
            Err(error) => {
                return Err(DiscoveryError::ClassFile {
                    sendmail_cf: sendmail_cf.to_owned(),
                    line: file.line,
                    error,
                });
            }
        }
    }
    Ok(merge_names(canonical_host, &parsed.names, &from_files))
}
