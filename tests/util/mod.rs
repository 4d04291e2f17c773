//! Test helpers: fixture paths, running the `realip` binary, the nginx launcher.

pub mod nginx;
pub mod rng;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A path under `testdata/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// The `realip` binary built for this test run.
pub fn realip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_realip"))
}

/// Runs `cmd` with `stdin` as its standard input and returns its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn realip");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait realip");
    writer.join().expect("stdin writer");
    out
}

/// Asserts the exit code and returns stdout as text; shows stderr on failure.
pub fn assert_exit(out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

/// `eqnice`-style comparison: prints both sides in full when they differ.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {{
        let expected = &*$expected;
        let got = &*$got;
        if expected != got {
            panic!(
                "\n\n==== expected ====\n{}\n==== got ====\n{}\n",
                expected, got
            );
        }
    }};
}
