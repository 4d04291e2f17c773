//! Any text as nginx.conf: parsing and realip extraction never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = realip::nginx::parse_str(text, Path::new("fuzz.conf")) {
        let _ = realip::nginx::realip::contexts(&cfg);
        let _ = realip::nginx::realip::effective(&cfg, None, Some("/"));
        let _ = realip::nginx::log_format::access_logs(&cfg);
    }
});
