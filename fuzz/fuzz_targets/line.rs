//! Any bytes as an access-log line: no panic, and the hot path agrees with the reference
//! parser for every format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::logfmt::{reference, Format, Plan, Record};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Combined, Format::Main, Format::Realip, Format::Ltsv, Format::Json] {
        let Ok(plan) = Plan::compile(&format) else { continue };
        let mut fast = Record::new();
        let mut slow = Record::new();
        let a = plan.parse(data, &mut fast);
        let b = reference::parse(&plan, data, &mut slow);
        assert_eq!(a.is_ok(), b.is_ok(), "{format:?}");
        if a.is_ok() {
            assert_eq!(fast, slow, "{format:?}");
        }
    }
});
