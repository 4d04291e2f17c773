//! Any bytes as a request path: no panic, and the route normaliser (SSE2 bit masks for
//! paths of 4 to 63 bytes, a byte-at-a-time pass for the rest) gives the plain reference
//! rule's route.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realip::summary::{normalize_route, normalize_route_reference};

fuzz_target!(|data: &[u8]| {
    let mut fast = b"key".to_vec();
    let mut slow = b"key".to_vec();
    normalize_route(data, &mut fast);
    normalize_route_reference(data, &mut slow);
    assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(data));
});
