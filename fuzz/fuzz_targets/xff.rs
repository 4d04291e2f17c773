//! Any bytes as X-Forwarded-For lines: the walk never panics and its result is well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::{Addr, Header, Resolver, TrustedSet};

fuzz_target!(|data: &[u8]| {
    let Ok((trusted, _)) = TrustedSet::parse(["127.0.0.0/8", "10.0.0.0/8", "::1", "2001:db8::/32"])
    else {
        return;
    };
    let peer = Addr::Ip([127, 0, 0, 1].into());
    for recursive in [false, true] {
        let r = Resolver::new(trusted.clone(), Header::x_forwarded_for(), recursive);
        let res = r.resolve(peer, data.split(|&b| b == b'\n'));
        if !res.applied() {
            assert_eq!(res.addr, peer);
        }
        // The text form must never be empty.
        assert!(!res.addr.to_string().is_empty());
    }
});
