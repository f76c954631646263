//! The one bounded file reader: configuration, CA and cache files are read
//! with a byte cap from the open file itself (no stat-then-read race), and
//! an error names the file.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A file that could not be read, named.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub kind: FileErrorKind,
}

/// What went wrong with it.
#[derive(Debug)]
pub enum FileErrorKind {
    Io(io::Error),
    /// It holds more than the cap, in bytes.
    TooLarge(usize),
}

impl FileError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(&self.kind, FileErrorKind::Io(err) if err.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        match &self.kind {
            FileErrorKind::Io(err) => write!(f, "{err}"),
            FileErrorKind::TooLarge(_) => f.write_str("file too large"),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads the file at `path`, at most `max_bytes` of it; a longer file is
/// an error, never a truncated read.
pub fn read(path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    let file = File::open(path).map_err(|err| io_error(path, err))?;
    read_open(file, path, max_bytes)
}

/// [`read`] as text (invalid UTF-8 replaced: these files are ASCII).
pub fn read_text(path: &Path, max_bytes: usize) -> Result<String, FileError> {
    read(path, max_bytes).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads an already open `file` (opened with the caller's own flags) under
/// the same cap; `path` only names it in errors.
pub fn read_open(file: File, path: &Path, max_bytes: usize) -> Result<Vec<u8>, FileError> {
    // Sized from the open file: one read(2) for the usual file, not four.
    let cap = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    let size = file.metadata().map_or(0, |meta| meta.len()).min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| io_error(path, err))?;
    if bytes.len() > max_bytes {
        return Err(FileError {
            path: path.to_owned(),
            kind: FileErrorKind::TooLarge(max_bytes),
        });
    }
    Ok(bytes)
}

fn io_error(path: &Path, err: io::Error) -> FileError {
    FileError {
        path: path.to_owned(),
        kind: FileErrorKind::Io(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_and_errors() {
        let path = std::env::temp_dir().join(format!("smtpbox-files-{}", std::process::id()));
        std::fs::write(&path, b"12345").expect("write temp file");
        let exact = read(&path, 5).map_err(|e| e.to_string());
        let over = read(&path, 4).map_err(|e| e.to_string());
        let _ = std::fs::remove_file(&path);
        assert_eq!(exact, Ok(b"12345".to_vec()));
        assert_eq!(over, Err(format!("{}: file too large", path.display())));
        let missing = read(Path::new("/nonexistent/x"), 5).expect_err("missing");
        assert!(missing.is_not_found());
        assert!(missing.to_string().starts_with("/nonexistent/x: "));
    }
}
