//! The names this host's sendmail accepts mail for (used when no
//! client-hosts are given): the canonical host name, the `Cw` names of
//! sendmail.cf and the names in every `Fw` file. The parsing is in
//! [`super::sendmail_cf`]; this module does the file reading.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::sendmail_cf::{merge_names, parse_cf, parse_class_file};

/// The default sendmail configuration.
pub const DEFAULT_SENDMAIL_CF: &str = "/etc/mail/sendmail.cf";
/// sendmail.cf and class files larger than this are not read.
const MAX_CONFIG_LEN: u64 = 16 << 20;

/// Every accepted name, `localhost` and duplicates skipped, order kept.
/// A missing sendmail.cf or non-optional class file is an error naming it.
pub fn accepted_names(sendmail_cf: &Path, canonical_host: &str) -> Result<Vec<String>, String> {
    let config = read_text(sendmail_cf)?;
    let parsed = parse_cf(&config);
    for (line, problem) in &parsed.unsupported {
        crate::say!("etrn: {}:{line}: {problem}", sendmail_cf.display());
    }
    let mut from_files = Vec::new();
    for file in &parsed.files {
        let path = Path::new(&file.path);
        match read_text(path) {
            Ok(text) => from_files.extend(parse_class_file(&text, file.pattern)),
            Err(_) if file.optional && !path.exists() => {}
            Err(reason) => {
                return Err(format!(
                    "{}:{}: class file {reason}",
                    sendmail_cf.display(),
                    file.line
                ));
            }
        }
    }
    Ok(merge_names(canonical_host, &parsed.names, &from_files))
}

fn read_text(path: &Path) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if bytes.len() as u64 > MAX_CONFIG_LEN {
        return Err(format!("{}: file too large", path.display()));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
