//! An OTLP JSON lines file: appended to by whole lines, and rotated when it grows too big.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file grows to this size (64 MiB) before it is rotated, unless told otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How many rotated files (`path.1` ... `path.3`) are kept, unless told otherwise.
pub const DEFAULT_ROTATED_FILES: usize = 3;

/// The file the exporter appends to.
///
/// Opened with `O_APPEND`: every write lands at the end of the file as it is then, so several
/// processes can share one file, and since each batch is one `write` of whole lines, their
/// lines do not interleave (on local file systems; not on NFS).
#[derive(Debug)]
pub(crate) struct JsonlFile {
    path: PathBuf,
    file: File,
    max_bytes: u64,
    rotated_files: usize,
}

impl JsonlFile {
    /// Opens `path` for appending, creating it when missing; its directory must exist.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            file: append(path)?,
            max_bytes: DEFAULT_MAX_FILE_BYTES,
            rotated_files: DEFAULT_ROTATED_FILES,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn set_rotation(&mut self, max_bytes: u64, rotated_files: usize) {
        self.max_bytes = max_bytes.max(1);
        self.rotated_files = rotated_files;
    }

    /// Appends `lines` with one write and flushes, then rotates the file if it has grown past
    /// its bound. A batch is never split across two files, so a file can exceed the bound by
    /// at most one batch.
    pub(crate) fn append_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.file.write_all(lines)?;
        self.file.flush()?;
        if self.file.metadata()?.len() >= self.max_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// Renames `path` to `path.1` (and `path.1` to `path.2`, ..., dropping the oldest), then
    /// starts a new file at `path`. With no rotated files to keep, the file is truncated
    /// instead.
    ///
    /// When another process sharing the file has rotated it already, the path names a new file
    /// and this one only reopens it: without that check, each process in turn would rotate
    /// the others' fresh file away.
    fn rotate(&mut self) -> io::Result<()> {
        if !self.still_at_path() {
            self.file = append(&self.path)?;
            return Ok(());
        }
        if self.rotated_files == 0 {
            self.file.set_len(0)?;
            return Ok(());
        }
        for n in (1..self.rotated_files).rev() {
            let from = self.rotated(n);
            if from.exists() {
                fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        fs::rename(&self.path, self.rotated(1))?;
        self.file = append(&self.path)?;
        Ok(())
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    #[cfg(unix)]
    fn still_at_path(&self) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        match (self.file.metadata(), fs::metadata(&self.path)) {
            (Ok(open), Ok(at_path)) => open.dev() == at_path.dev() && open.ino() == at_path.ino(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn still_at_path(&self) -> bool {
        self.path.exists()
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}
