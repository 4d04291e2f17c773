//! A generated tree of includes through the loader: files, globs, cycles and special files
//! (a FIFO, a directory, `/dev/zero`, a symbolic-link loop, a file over the size cap).
//!
//! The input is up to eight files separated by NUL bytes, written as `f0.conf` … `f7.conf`
//! next to links to the special files; `f0.conf` is loaded. Loading must return (never block
//! on the FIFO, never read `/dev/zero` without end), never panic, and list only regular files.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A directory with the special files, made once per process.
fn specials() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("realip-fuzz-include-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let special = dir.join("special");
        std::fs::create_dir_all(special.join("dir/sub.conf")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(special.join("fifo"))
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        std::os::unix::fs::symlink("/dev/zero", special.join("zero")).unwrap();
        std::os::unix::fs::symlink("self", special.join("self")).unwrap();
        let big = std::fs::File::create(special.join("big.conf")).unwrap();
        big.set_len((16 << 20) + 1).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let base = specials();
    let tree = base.join("tree");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).unwrap();
    for name in ["fifo", "dir", "zero", "self", "big.conf"] {
        std::os::unix::fs::symlink(base.join("special").join(name), tree.join(name)).unwrap();
    }
    for (i, content) in data.split(|&b| b == 0).take(8).enumerate() {
        std::fs::write(tree.join(format!("f{i}.conf")), content).unwrap();
    }
    let main = tree.join("f0.conf");
    if !main.exists() {
        std::fs::write(&main, b"").unwrap();
    }
    let dump = realip::nginx::include::is_dump(&std::fs::read(&main).unwrap());
    if let Ok(cfg) = realip::nginx::load(&main) {
        // A dump's files are never read from the filesystem.
        for f in cfg.files.iter().filter(|_| !dump) {
            let meta = std::fs::metadata(&f.path).unwrap();
            assert!(meta.is_file(), "{} is not a regular file", f.path.display());
            assert!(
                meta.len() <= 16 << 20,
                "{} is over the cap",
                f.path.display()
            );
        }
        let _ = realip::nginx::realip::effective(&cfg, None, Some("/"));
    }
});
