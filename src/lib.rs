//! realip: is the client IP in your nginx logs really the client?
//!
//! Behind a Google Cloud HTTP(S) load balancer nginx sees requests from Google front ends
//! (130.211.0.0/22, 35.191.0.0/16) carrying `X-Forwarded-For: <client>, <load-balancer-ip>`.
//! nginx finds the client only if `set_real_ip_from` lists the front-end ranges *and* every
//! load-balancer IP; forget one and every request "comes from" the load balancer. This crate
//! resolves client addresses exactly as nginx's realip module does, so that logs and configs
//! can be checked against what nginx really did.
//!
//! # Brief overview
//!
//! * [`TrustedSet`] is the `set_real_ip_from` list: CIDRs, bare addresses, `unix:` and
//!   [`presets`] (`gcp`, `cloudflare`), aggregated into sorted ranges.
//! * [`Resolver`] is one location's realip configuration (`real_ip_header`,
//!   `real_ip_recursive`) and resolves one request at a time into a [`Resolution`]: the
//!   `$remote_addr` nginx would log, the port, and why the walk stopped. [`Resolver::explain`]
//!   records every step.
//! * [`Addr`] prints exactly like `$remote_addr`, including nginx's own IPv6 text form.
//!
//! ```
//! use realip::{Addr, Header, Resolver, TrustedSet};
//!
//! // The GCP front ends plus our load balancer's forwarding-rule IP.
//! let (trusted, _warnings) = TrustedSet::parse(["gcp", "34.120.5.6"])?;
//! let resolver = Resolver::new(trusted, Header::x_forwarded_for(), true);
//!
//! let peer = Addr::parse(b"35.191.10.20")?;
//! let xff: &[u8] = b"198.51.100.66, 203.0.113.7, 34.120.5.6"; // spoofed entry on the left
//! let res = resolver.resolve(peer, [xff]);
//! assert_eq!(res.addr.to_string(), "203.0.113.7");
//! # Ok::<(), realip::Error>(())
//! ```
//!
//! # Organization
//!
//! * [`net`]: addresses, nginx's address grammar and text form, the trusted set.
//! * [`presets`]: published ranges with their source and date.
//! * [`ranges`]: published range files (Google, Cloudflare, AWS, Fastly) with provenance.
//! * [`resolve`]: the realip walk and its tokenizer.
//! * [`input`]: bounded line reading for batch and log input.
//! * [`batch`]: the `PEER<TAB>VALUE…` batch contract and its streaming loop.
//! * [`logfmt`]: log formats, compiled once into a plan that parses lines into records.
//! * [`accumulate`]: what a scan folds records into, and line positions.
//! * [`filter`]: `--filter` expressions (status, method, host, path, route, client, times).
//! * [`timespec`]: `--bucket` durations and `--since`/`--until` times.
//! * [`summary`]: latency histograms, status classes, group-by.
//! * [`fold`]: the time window and filter in front of the summary and audit.
//! * [`merge`]: exact merging of JSON reports from many hosts, and diffs of two.
//! * [`audit`]: the trust nginx applied, read from the logged lines themselves (or compared
//!   with a declared one), and the misresolutions it caused, per load-balancer IP.
//! * [`scan`]: parallel reading and folding of access logs.
//! * [`nginx`]: nginx configuration parsing, realip settings, lint and snippets.
//! * [`report`]: rendering for humans and machines.
//! * [`check`]: `--check` semantics: Nagios ranges, statuses, perfdata.
//! * [`totals`]: counters cumulative across `--state` runs (Prometheus).
//! * [`state`]: incremental runs (`--state`): what each cron run reads, following rotation.
//! * [`job`]: the scan job: inputs, format, trust, state and options in, a report out.
//! * [`error`]: the error type; [`escape`]: the one place untrusted text is made safe for a
//!   terminal; [`timefmt`]: epoch seconds as UTC text.
//!
//! # Layers
//!
//! A module uses only modules on lines above its own; modules on the same line do not use
//! each other. So there is no import circle, and each line could become a crate. The test
//! `tests/layers.rs` reads every `crate::` path in `src/` (outside `#[cfg(test)]` code),
//! checks it against this list and fails on a circle; a new module must be added here.
//!
//! 1. [`escape`], [`timefmt`], [`bytes`]
//! 2. [`error`]
//! 3. [`presets`]
//! 4. [`net`]
//! 5. [`resolve`]
//! 6. [`input`]
//! 7. [`batch`], [`ranges`], [`logfmt`]
//! 8. [`accumulate`], [`timespec`]
//! 9. [`summary`], [`audit`]
//! 10. [`scan`], [`totals`], [`filter`]
//! 11. [`report`], [`nginx`], [`state`], [`fold`]
//! 12. [`check`], [`merge`]
//! 13. [`job`]
//!
//! The command line (`src/cli/`, `src/main.rs`) sits above all of them and reaches the
//! library through its front doors ([`job`] for scans).

#![deny(missing_docs)]

pub mod accumulate;
pub mod audit;
pub mod batch;
pub mod bytes;
pub mod check;
pub mod error;
pub mod escape;
pub mod filter;
pub mod fold;
pub mod input;
pub mod job;
pub mod logfmt;
pub mod merge;
pub mod net;
pub mod nginx;
pub mod presets;
pub mod ranges;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod state;
pub mod summary;
pub mod timefmt;
pub mod timespec;
pub mod totals;

pub use error::Error;
pub use net::{Addr, TrustEntry, TrustNet, TrustedSet};
pub use resolve::{Explanation, Header, NginxVersion, Resolution, Resolver, Stop};
