//! Any text as a log_format template: compiling never panics, and a compiled plan parses any
//! line without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::logfmt::{Format, Plan, Record};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, line) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(plan) = Plan::compile(&Format::Custom(template.to_string())) {
        let mut rec = Record::new();
        let _ = plan.parse(line.as_bytes(), &mut rec);
    }
});
