//! Where a report goes: stdout, or `--output-file PATH` replaced atomically.
//!
//! Owns: writing a finished report to a file so that a reader (node_exporter's textfile
//! collector, mackerel-agent, a script) never sees half of it: the bytes go to a temporary
//! file in the same directory (same filesystem, so the rename is atomic), which is flushed to
//! disk and renamed over PATH. The temporary file is removed on every failure path, and PATH
//! keeps its old content until the rename. The new file gets the old file's permissions, or
//! 0644 for a new file, so that a collector running as another user can read it.
//!
//! Does not own: rendering (that is `report`), or deciding whether a run is good enough to
//! replace the file (the caller writes only after a successful run).

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A temporary file that is removed when dropped unless it was renamed into place.
struct Temp {
    path: PathBuf,
    done: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Replaces `path` with `bytes` atomically (see the module docs).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("--output-file {}: not a path to a file", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mode = match fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            anyhow::bail!("--output-file {}: is a directory", path.display())
        }
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0o644,
    };
    // Hidden and named after the target, so that a collector matching *.prom never reads it.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let mut temp = Temp {
        path: dir.join(tmp_name),
        done: false,
    };
    // A leftover of a killed run that had this process id.
    let _ = fs::remove_file(&temp.path);
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp.path)?;
        f.write_all(bytes)?;
        f.set_permissions(Permissions::from_mode(mode))?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp.path, path)?;
        temp.done = true;
        // The rename itself is durable once the directory is synced; best effort.
        let _ = File::open(&dir).and_then(|d| d.sync_all());
        Ok(())
    })();
    result.with_context(|| format!("--output-file {}: cannot write", path.display()))
}

/// The width tables must fit in: `COLUMNS` when set, else the terminal's width when stdout is
/// a terminal; `None` (no limit) for pipes and files.
pub fn terminal_width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(c);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
}
