//! Latency and status summaries of access-log records, mergeable across workers and hosts.
//!
//! Owns: [`Summary`] (requests, bytes, status codes and classes, `$request_time` and
//! `$upstream_response_time` histograms, optional group-by with top-N and an "others"
//! bucket), its merge (`AddAssign`/`Add`: any split of the input merges to the same result),
//! and [`SummaryView`], the plain data the reports render (serde `Serialize`). With
//! `--group-by route` alone, a per-worker memo (`memo`) maps raw paths seen before to their
//! group, so a repeated path skips the normaliser and the group lookup.
//! Does not own: parsing lines (`logfmt`), parallelism (`scan`), rendering (`report`).
//!
//! Group-by beyond `max_groups` distinct keys is deterministic and split-invariant: the keys
//! kept are the `max_groups` keys with the smallest [`key_hash`] (a fixed hash, the same on
//! every worker and host), each with exact counts; every other request goes to "others".
//! Whichever way the input is split, every worker keeps each finally kept key (a key among
//! the smallest hashes of all keys is among the smallest of any subset), so the merged result
//! is the same. The view then says `groups_approximate` (the listed keys are the top of that
//! sample, not necessarily of all keys) and `max_error`, the requests of keys outside the
//! sample: no unlisted key has more requests than that.
//!
//! Latencies are recorded in microseconds in HDR histograms with 3 significant digits (1 µs
//! to 1 hour; longer values are clamped to 1 hour and counted in `clamped`); groups use 2
//! significant digits to keep memory bounded. Percentile `pN` is the smallest recorded value
//! `v` such that at least N % of the requests took `v` or less (nearest rank), within the
//! histogram's precision; min, max and mean are exact.

use std::collections::{BTreeMap, BinaryHeap};
use std::ops::{Add, AddAssign};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use crate::accumulate::{Accumulate, LineAt};
use crate::logfmt::record::same_short;
use crate::logfmt::template::{find_byte, Needle};
use crate::logfmt::{Field, Record};

mod memo;
mod route;

use memo::{Found, RouteMemo};
pub use route::{normalize_route, normalize_route_reference};
use route::{normalize_route_or_borrow, replaced_tail, Route};

/// Maps on the hot path hash with foldhash (seeded per process): SipHash showed in profiles,
/// and these maps are bounded per worker, so a slow hash buys no protection worth its cost.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The groups by key, whose lookups take a [`GroupKey`] compared inline. An index map, so
/// that the route memo can name a group by its index (see `memo`).
type GroupMap = indexmap::IndexMap<Box<[u8]>, Group, foldhash::fast::RandomState>;

/// A group key looked up once per line: hashed as the key's bytes (as `Box<[u8]>` is), and
/// compared without a `memcmp` call, keys being a few dozen bytes.
struct GroupKey<'a>(&'a [u8]);

impl std::hash::Hash for GroupKey<'_> {
    #[inline(always)]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl indexmap::Equivalent<Box<[u8]>> for GroupKey<'_> {
    #[inline(always)]
    fn equivalent(&self, key: &Box<[u8]>) -> bool {
        same_short(self.0, key)
    }
}

/// The longest latency recorded exactly: one hour, in microseconds.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// The percentiles reported when none are asked for.
pub const DEFAULT_PERCENTILES: &[f64] = &[50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

/// What to group requests by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// The request path with IDs replaced by placeholders (and `--route` rules).
    Route,
    /// `$host`.
    Host,
    /// The request method.
    Method,
    /// The status code.
    Status,
    /// `$remote_addr`.
    Client,
}

impl GroupBy {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Route => "route",
            GroupBy::Host => "host",
            GroupBy::Method => "method",
            GroupBy::Status => "status",
            GroupBy::Client => "client",
        }
    }
}

/// The byte between the values of a composite group key (`--group-by host,route`). A raw
/// `0x1F` inside a value is stored as `?`, so the parts always split back exactly.
pub const KEY_SEP: u8 = 0x1F;

/// The `--group-by` keys as given on the command line (`host,route`); `None` without keys.
pub fn group_by_name(keys: &[GroupBy]) -> Option<String> {
    (!keys.is_empty()).then(|| keys.iter().map(|g| g.name()).collect::<Vec<_>>().join(","))
}

/// The keys of a `--group-by` list (`host,route`).
pub fn group_by_parse(list: &str) -> Option<Vec<GroupBy>> {
    list.split(',').map(GroupBy::from_name).collect()
}

/// A stored group key as shown: the values joined by `,` (one value: itself).
pub fn display_key(k: &[u8]) -> String {
    String::from_utf8_lossy(k).replace(char::from(KEY_SEP), ",")
}

/// The values of a stored composite group key.
pub fn key_parts(k: &str) -> Vec<String> {
    k.split(char::from(KEY_SEP)).map(str::to_string).collect()
}

impl GroupBy {
    /// The key for a name used on the command line.
    pub fn from_name(name: &str) -> Option<GroupBy> {
        [
            GroupBy::Route,
            GroupBy::Host,
            GroupBy::Method,
            GroupBy::Status,
            GroupBy::Client,
        ]
        .into_iter()
        .find(|g| g.name() == name)
    }
}

/// How groups are ordered in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Most requests first.
    #[default]
    Count,
    /// Largest total `$request_time` first.
    Sum,
    /// Largest p99 `$request_time` first.
    P99,
}

impl SortBy {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SortBy::Count => "count",
            SortBy::Sum => "sum",
            SortBy::P99 => "p99",
        }
    }
}

/// A user route rule: paths matching `regex` are grouped under `name`.
#[derive(Clone, Debug)]
pub struct RouteRule {
    /// The pattern, matched against the path (query string included).
    pub regex: Regex,
    /// The group name.
    pub name: String,
}

impl RouteRule {
    /// Parses `REGEX=NAME` (split at the last `=`).
    pub fn parse(spec: &str) -> Result<RouteRule, crate::Error> {
        let bad = |reason: String| crate::Error::Route {
            text: spec.to_string(),
            reason,
        };
        let (re, name) = spec
            .rsplit_once('=')
            .ok_or_else(|| bad("expected REGEX=NAME".into()))?;
        if name.is_empty() {
            return Err(bad("the NAME after '=' is empty".into()));
        }
        let regex = Regex::new(re).map_err(|e| bad(e.to_string()))?;
        Ok(RouteRule {
            regex,
            name: name.to_string(),
        })
    }
}

/// Settings shared by every worker's summary.
#[derive(Clone, Debug)]
pub struct SummaryConfig {
    /// Group requests by these keys (none: no groups). With several keys a group is the
    /// tuple of their values, stored joined by [`KEY_SEP`].
    pub group_by: Vec<GroupBy>,
    /// Route rules, first match wins (only with `GroupBy::Route`).
    pub routes: Vec<RouteRule>,
    /// Distinct group keys kept; requests with further keys go to "others".
    pub max_groups: usize,
    /// Upper bounds of the latency histogram buckets in microseconds, ascending (Prometheus
    /// `le`); values above the last fall in `+Inf`. Counted exactly, not from the HDR
    /// histogram, so a value equal to a bound is always in that bound's bucket.
    pub buckets_us: Arc<[u64]>,
    /// Width of the time buckets of [`SeriesView`], in seconds (`--bucket`), if any.
    pub bucket: Option<u64>,
}

/// The default histogram buckets in seconds: 1 ms to 60 s, roughly 1-2.5-5 per decade.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Bucket bounds in seconds -> microseconds: each positive, finite, at most one hour, and
/// strictly ascending after sorting (duplicates refused).
pub fn buckets_us(seconds: &[f64]) -> Result<Vec<u64>, String> {
    let bad = |why: String| why;
    if seconds.is_empty() {
        return Err(bad("give at least one bound".into()));
    }
    let mut out = Vec::with_capacity(seconds.len());
    for &s in seconds {
        if !(s.is_finite() && s > 0.0 && s <= MAX_LATENCY_US as f64 / 1e6) {
            return Err(bad(format!(
                "{s} is not a duration in seconds between 0 and 3600"
            )));
        }
        let us = (s * 1e6).round() as u64;
        if us == 0 {
            return Err(bad(format!("{s} is below one microsecond")));
        }
        out.push(us);
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad("a bound is given twice".into()));
    }
    Ok(out)
}

fn default_buckets_us() -> Arc<[u64]> {
    DEFAULT_BUCKETS
        .iter()
        .map(|s| (s * 1e6).round() as u64)
        .collect()
}

impl Default for SummaryConfig {
    fn default() -> Self {
        SummaryConfig {
            group_by: Vec::new(),
            routes: Vec::new(),
            max_groups: 1000,
            buckets_us: default_buckets_us(),
            bucket: None,
        }
    }
}

/// Up to this many bucket bounds are searched in fixed steps over [`steps_of`]; more take
/// the binary search.
const FIXED_STEPS: usize = 15;

/// `bounds` (at most [`FIXED_STEPS`]) padded to sixteen with `u64::MAX`, which no value is
/// above: the four halving steps of [`bucket_in`] then need no bounds checks.
fn steps_of(bounds: &[u64]) -> [u64; 16] {
    let mut steps = [u64::MAX; 16];
    if bounds.len() <= FIXED_STEPS {
        steps[..bounds.len()].copy_from_slice(bounds);
    }
    steps
}

/// The bucket of `us` among sorted `bounds`: how many bounds are below it (the same as
/// `bounds.partition_point(|&b| b < us)`). Up to 15 bounds (the default list has 15), four
/// fixed halving steps over `steps` (= [`steps_of`]`(bounds)`) without a loop; more, the
/// binary search.
#[inline(always)]
fn bucket_in(steps: &[u64; 16], bounds: &[u64], us: u64) -> usize {
    if bounds.len() > FIXED_STEPS {
        return bounds.partition_point(|&b| b < us);
    }
    let mut i = 0;
    for step in [8, 4, 2, 1] {
        if steps[(i + step - 1) & 15] < us {
            i += step;
        }
    }
    i
}

/// [`bucket_in`] for tests that have only the bounds.
#[cfg(test)]
fn bucket_of(bounds: &[u64], us: u64) -> usize {
    bucket_in(&steps_of(bounds), bounds, us)
}

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    bounds: Arc<[u64]>,
    /// [`steps_of`]`(bounds)`.
    steps: [u64; 16],
    /// Values per bucket (not cumulative): `counts[i]` for `bounds[i-1] < v <= bounds[i]`,
    /// the last one above every bound.
    counts: Box<[u64]>,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    clamped: u64,
}

impl Latency {
    fn new(sigfig: u8, bounds: &Arc<[u64]>) -> Self {
        // Only ever called with the constants 2 and 3 and MAX_LATENCY_US, which hdrhistogram
        // accepts (sigfig 0..=5, max >= 2); the unit tests construct both.
        #[allow(clippy::expect_used, reason = "constant, valid histogram bounds")]
        let hist = Histogram::new_with_max(MAX_LATENCY_US, sigfig)
            .expect("constant histogram bounds are valid");
        Latency {
            hist,
            bounds: Arc::clone(bounds),
            steps: steps_of(bounds),
            counts: vec![0; bounds.len() + 1].into_boxed_slice(),
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            clamped: 0,
        }
    }

    /// Records one value.
    #[inline(always)]
    pub fn record(&mut self, us: u64) {
        if us > MAX_LATENCY_US {
            self.clamped += 1;
        }
        self.hist.saturating_record(us.min(MAX_LATENCY_US));
        let bucket = bucket_in(&self.steps, &self.bounds, us);
        if let Some(c) = self.counts.get_mut(bucket) {
            *c += 1;
        }
        self.sum_us = self.sum_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Total of every value, in microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// The value at percentile `p` (0..=100), in microseconds. The histogram answers with
    /// its bucket's highest equivalent value; it is clamped to the exact min and max so that,
    /// say, p99.9 never exceeds max.
    pub fn percentile_us(&self, p: f64) -> Option<u64> {
        (self.count() > 0).then(|| {
            self.hist
                .value_at_quantile(p / 100.0)
                .clamp(self.min_us, self.max_us)
        })
    }

    /// Counts in logarithmic bins of four per decade, from 0.1 ms up to the largest value:
    /// `(low, high, count)` in seconds, where the first bin starts at 0. Empty when nothing
    /// was recorded.
    pub fn log_bins(&self) -> Vec<(f64, f64, u64)> {
        if self.count() == 0 {
            return Vec::new();
        }
        // Bin k covers [1e-4 * 10^((k-1)/4), 1e-4 * 10^(k/4)) seconds; bin 0 is [0, 1e-4).
        let bin_of = |us: u64| -> usize {
            let s = us as f64 / 1e6;
            if s < 1e-4 {
                0
            } else {
                ((s / 1e-4).log10() * 4.0).floor() as usize + 1
            }
        };
        let edge = |k: usize| {
            if k == 0 {
                0.0
            } else {
                1e-4 * 10f64.powf((k as f64 - 1.0) / 4.0)
            }
        };
        let last = bin_of(self.max_us.min(MAX_LATENCY_US));
        let mut counts = vec![0u64; last + 1];
        for v in self.hist.iter_recorded() {
            // The value a recorded bucket stands for, clamped like percentiles are.
            let us = self
                .hist
                .highest_equivalent(v.value_iterated_to())
                .clamp(self.min_us, self.max_us);
            let k = bin_of(us).min(last);
            counts[k] += v.count_at_value();
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(k, n)| (edge(k), edge(k + 1), n))
            .collect()
    }

    fn merge(&mut self, other: &Latency) {
        // Both histograms cover the same range, so adding cannot fail; if it ever did, the
        // values are re-recorded one bucket at a time instead of being lost.
        if Histogram::<u64>::add(&mut self.hist, &other.hist).is_err() {
            for v in other.hist.iter_recorded() {
                self.hist
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        if self.bounds == other.bounds {
            for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
                *a += b;
            }
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        self.clamped += other.clamped;
    }

    /// The plain-data view with the chosen percentiles, in seconds.
    pub fn view(&self, percentiles: &[f64]) -> LatencyView {
        let n = self.count();
        let s = |us: u64| us as f64 / 1e6;
        LatencyView {
            count: n,
            min: (n > 0).then(|| s(self.min_us)),
            mean: (n > 0).then(|| s(self.sum_us) / n as f64),
            max: (n > 0).then(|| s(self.max_us)),
            sum: s(self.sum_us),
            percentiles: percentiles
                .iter()
                .map(|&p| (percentile_key(p), self.percentile_us(p).map(s)))
                .collect(),
            clamped: self.clamped,
            buckets: {
                let mut acc = 0;
                self.bounds
                    .iter()
                    .zip(self.counts.iter())
                    .map(|(&b, &c)| {
                        acc += c;
                        (s(b), acc)
                    })
                    .collect()
            },
        }
    }
}

/// `99.9` -> `p999`, `50` -> `p50`, `99.99` -> `p9999`.
pub fn percentile_key(p: f64) -> String {
    let text = format!("{p}");
    format!("p{}", text.replace('.', ""))
}

/// Counters per status class: 1xx..5xx, plus 499 on its own (also counted in 4xx).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusClasses {
    counts: [u64; 6],
}

impl StatusClasses {
    #[inline]
    fn add(&mut self, status: u16) {
        let class = usize::from(status / 100);
        if (1..=5).contains(&class) {
            self.counts[class - 1] += 1;
        }
        if status == 499 {
            self.counts[5] += 1;
        }
    }

    fn merge(&mut self, other: &StatusClasses) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }

    /// The view: `1xx`..`5xx` and `499`.
    pub fn view(&self) -> StatusClassView {
        let c = self.counts;
        StatusClassView {
            c1xx: c[0],
            c2xx: c[1],
            c3xx: c[2],
            c4xx: c[3],
            c5xx: c[4],
            c499: c[5],
        }
    }
}

#[derive(Clone, Debug)]
struct Group {
    requests: u64,
    classes: StatusClasses,
    request_time: Latency,
    /// The route memo's id of this group (0: none; not part of the counts).
    memo_id: u32,
}

impl Group {
    fn new(bounds: &Arc<[u64]>) -> Self {
        Group {
            requests: 0,
            classes: StatusClasses::default(),
            request_time: Latency::new(2, bounds),
            memo_id: 0,
        }
    }

    /// Counts one request.
    #[inline(always)]
    fn add(&mut self, status: Option<u16>, rt: Option<u64>) {
        self.requests += 1;
        if let Some(s) = status {
            self.classes.add(s);
        }
        if let Some(us) = rt {
            self.request_time.record(us);
        }
    }

    fn merge(&mut self, other: &Group) {
        self.requests += other.requests;
        self.classes.merge(&other.classes);
        self.request_time.merge(&other.request_time);
    }
}

/// The summary of any number of records. Build one per worker and merge with `+=`.
#[derive(Clone, Debug)]
pub struct Summary {
    config: Arc<SummaryConfig>,
    requests: u64,
    bytes: u64,
    status: Box<[u64; 1000]>,
    no_status: u64,
    classes: StatusClasses,
    request_time: Latency,
    upstream_time: Latency,
    upstream_tries: u64,
    groups: GroupMap,
    /// Requests of keys outside the kept sample (see the module docs).
    others: Group,
    others_keys_seen: bool,
    /// The kept keys by `(key_hash, key)`, the largest (the cutoff) on top, while the groups
    /// are full: built when first needed, then kept up to date by each eviction and the key
    /// that replaces it (so a new key costs a heap step, not a pass over every kept key);
    /// `None` after the groups changed otherwise.
    kept: Option<BinaryHeap<(u64, Box<[u8]>)>>,
    series: Series,
    scratch: Vec<u8>,
    /// With `--group-by route` alone: raw path -> group index.
    memo: RouteMemo,
}

/// The fixed 64-bit hash that decides which group keys are kept beyond `max_groups`: FNV-1a
/// with a final avalanche (splitmix64), so that it is the same in every process, worker and
/// version, and spreads similar keys (`/item/1`, `/item/2`).
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Summary {
    /// An empty summary.
    pub fn new(config: Arc<SummaryConfig>) -> Self {
        let others = Group::new(&config.buckets_us);
        let request_time = Latency::new(3, &config.buckets_us);
        let upstream_time = Latency::new(3, &config.buckets_us);
        Summary {
            config,
            requests: 0,
            bytes: 0,
            status: Box::new([0; 1000]),
            no_status: 0,
            classes: StatusClasses::default(),
            request_time,
            upstream_time,
            upstream_tries: 0,
            groups: GroupMap::default(),
            others,
            others_keys_seen: false,
            kept: None,
            series: Series::default(),
            scratch: Vec::new(),
            memo: RouteMemo::default(),
        }
    }

    /// Requests counted.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The `$request_time` distribution.
    pub fn request_time(&self) -> &Latency {
        &self.request_time
    }

    /// Adds one record. With time buckets, its time is read from the record; a caller that
    /// already has it uses [`Summary::record_at`].
    #[inline]
    pub fn record(&mut self, rec: &Record<'_>) {
        let time = match self.config.bucket {
            Some(_) => rec.epoch_seconds(),
            None => None,
        };
        self.record_at(rec, time);
    }

    /// Adds one record whose request time (seconds since the epoch) is `time`, as read by
    /// [`Record::epoch_seconds`]. The time is used only with time buckets.
    #[inline]
    pub fn record_at(&mut self, rec: &Record<'_>, time: Option<i64>) {
        self.requests += 1;
        let status = rec.status();
        match status {
            Some(s) => {
                self.status[usize::from(s)] += 1;
                self.classes.add(s);
            }
            None => self.no_status += 1,
        }
        if let Some(b) = rec.bytes() {
            self.bytes = self.bytes.saturating_add(b);
        }
        let rt = rec.request_time_us();
        if let Some(us) = rt {
            self.request_time.record(us);
        }
        if let Some(up) = rec.upstream_time() {
            self.upstream_time.record(up.total_us);
            self.upstream_tries += u64::from(up.tries);
        }
        if !self.config.group_by.is_empty() {
            self.add_to_group(rec, status, rt);
        }
        if let Some(width) = self.config.bucket {
            match time {
                Some(t) => {
                    if let Some(b) = self.series.bucket(t, width, &self.config.buckets_us) {
                        b.requests += 1;
                        if let Some(s) = status {
                            b.classes.add(s);
                        }
                        if let Some(us) = rt {
                            b.request_time.record(us);
                        }
                    }
                }
                None => self.series.untimed += 1,
            }
        }
    }

    /// Counts one misresolved line (found by the audit) at `time` in the time series. Lines
    /// without a time are not in the series.
    #[inline]
    pub fn note_misresolved(&mut self, time: Option<i64>) {
        if let (Some(width), Some(t)) = (self.config.bucket, time) {
            if let Some(b) = self.series.bucket(t, width, &self.config.buckets_us) {
                b.misresolved += 1;
            }
        }
    }

    /// The number of time buckets between the first and the last request, when that is more
    /// than [`MAX_BUCKETS`] (the series is then incomplete and must not be reported).
    pub fn series_too_long(&self) -> Option<u64> {
        let width = self.config.bucket?;
        let n = self.series.span(width)?;
        (n > MAX_BUCKETS).then_some(n)
    }

    fn add_to_group(&mut self, rec: &Record<'_>, status: Option<u16>, rt: Option<u64>) {
        // The key borrows the record or `self.scratch`, never the rest of `self`, so the
        // group of a known key (almost every line) is updated without moving the buffer.
        let from_record: Option<&[u8]> = match self.config.group_by[..] {
            [GroupBy::Host] => Some(rec.get(Field::Host).unwrap_or(b"-")),
            [GroupBy::Method] => Some(rec.method().unwrap_or(b"-")),
            [GroupBy::Client] => Some(rec.get(Field::RemoteAddr).unwrap_or(b"-")),
            [GroupBy::Route] => return self.add_to_route_group(rec, status, rt),
            _ => {
                self.build_key(rec, status);
                None
            }
        };
        if let Some(g) = self
            .groups
            .get_mut(&GroupKey(from_record.unwrap_or(&self.scratch)))
        {
            g.add(status, rt);
            return;
        }
        self.add_to_new_key(from_record, status, rt);
    }

    /// [`add_to_group`](Summary::add_to_group) by route alone: through the route memo.
    #[inline(always)]
    fn add_to_route_group(&mut self, rec: &Record<'_>, status: Option<u16>, rt: Option<u64>) {
        let path = rec.path().unwrap_or(b"-");
        // Without `--route` rules (which read the raw path), the key is the path without its
        // query string (which the route drops) and with every ID under one prefix sharing one
        // key.
        let (key, tail) = if self.config.routes.is_empty() {
            let path = match find_byte(&Needle::new(b'?'), path) {
                Some(q) => &path[..q],
                None => path,
            };
            match replaced_tail(path) {
                Some((start, tail)) => (&path[..start], tail as u8),
                None => (path, 0),
            }
        } else {
            (path, 0)
        };
        let found = self.memo.find(key, tail);
        if let Found::Group { index, id, .. } = found {
            if let Some((_, g)) = self.groups.get_index_mut(index) {
                if g.memo_id == id {
                    g.add(status, rt);
                    return;
                }
            }
        }
        self.scratch.clear();
        let from_path = route_key(&self.config.routes, path, &mut self.scratch);
        let known = self
            .groups
            .get_full_mut(&GroupKey(from_path.unwrap_or(&self.scratch)))
            .map(|(i, _, g)| {
                g.add(status, rt);
                (i, g.memo_id)
            });
        let group = match known {
            // A group merged in or read from a state file has no id yet.
            Some((i, 0)) => Some((i, self.give_memo_id(i))),
            Some(group) => Some(group),
            None => self.add_to_new_key(from_path, status, rt),
        };
        // A stale slot (its group moved or left) is rewritten like a vacant one.
        if let (Found::Vacant(at) | Found::Group { at, .. }, Some((i, id))) = (found, group) {
            self.memo.put(at, key, tail, i, id);
        }
    }

    /// A status, or several keys: their values joined by KEY_SEP in `scratch`.
    #[inline(never)]
    fn build_key(&mut self, rec: &Record<'_>, status: Option<u16>) {
        self.scratch.clear();
        for (i, &by) in self.config.group_by.iter().enumerate() {
            if i > 0 {
                self.scratch.push(KEY_SEP);
            }
            push_key_part(by, &self.config.routes, rec, status, &mut self.scratch);
        }
    }

    /// Counts a request whose key (`from_record`, else `scratch`) has no group: a new group
    /// while there is room or the key sorts below the cutoff, else "others". Returns the new
    /// group's index and route memo id, if any. Apart from
    /// [`add_to_group`](Summary::add_to_group) so that its hot path stays small.
    #[inline(never)]
    fn add_to_new_key(
        &mut self,
        from_record: Option<&[u8]>,
        status: Option<u16>,
        rt: Option<u64>,
    ) -> Option<(usize, u32)> {
        let scratch = std::mem::take(&mut self.scratch);
        let key = from_record.unwrap_or(&scratch);
        let mut index = None;
        if self.groups.len() < self.config.max_groups {
            self.kept = None;
            index = Some(self.new_group(key, status, rt));
        } else {
            self.others_keys_seen = true;
            let h = key_hash(key);
            let below = self
                .cutoff()
                .is_some_and(|(ch, ck)| (h, key) < (*ch, &**ck));
            if below {
                // The new key belongs to the sample: the largest kept one leaves it.
                self.evict_cutoff();
                index = Some(self.new_group(key, status, rt));
                if let Some(kept) = &mut self.kept {
                    kept.push((h, Box::from(key)));
                }
            } else {
                self.others.add(status, rt);
            }
        }
        self.scratch = scratch;
        index
    }

    /// Counts a request in the group of `key`, made if need be with a new route memo id;
    /// returns its index and id.
    fn new_group(&mut self, key: &[u8], status: Option<u16>, rt: Option<u64>) -> (usize, u32) {
        let bounds = &self.config.buckets_us;
        let entry = self.groups.entry(Box::from(key));
        let index = entry.index();
        let group = entry.or_insert_with(|| Group::new(bounds));
        group.add(status, rt);
        match group.memo_id {
            0 => (index, self.give_memo_id(index)),
            id => (index, id),
        }
    }

    /// Gives the group at `index` a new route memo id and returns it. When the ids run out
    /// (after 2^32 - 1 groups in one worker), the memo is emptied and every group's id taken
    /// back first, so that no id is ever held by two groups.
    #[cold]
    #[inline(never)]
    fn give_memo_id(&mut self, index: usize) -> u32 {
        let id = match self.memo.new_id() {
            Some(id) => id,
            None => {
                self.memo.clear();
                for g in self.groups.values_mut() {
                    g.memo_id = 0;
                }
                self.memo.new_id().unwrap_or(0)
            }
        };
        if let Some((_, g)) = self.groups.get_index_mut(index) {
            g.memo_id = id;
        }
        id
    }

    /// Removes the group of `key` (the last group moves into its index: route memo slots
    /// of either then miss, by their ids).
    fn remove_group(&mut self, key: &[u8]) -> Option<Group> {
        self.groups.swap_remove(key)
    }

    /// The kept key with the largest `(key_hash, key)`.
    fn cutoff(&mut self) -> Option<&(u64, Box<[u8]>)> {
        let groups = &self.groups;
        self.kept
            .get_or_insert_with(|| groups.keys().map(|k| (key_hash(k), k.clone())).collect())
            .peek()
    }

    /// Takes one group of another summary: merged into the same key, kept when there is
    /// room or its key sorts below the cutoff (which then leaves), else merged into "others".
    fn absorb_group(&mut self, key: Box<[u8]>, group: Group) {
        if let Some(mine) = self.groups.get_mut(&key) {
            mine.merge(&group);
            return;
        }
        if self.groups.len() < self.config.max_groups {
            self.kept = None;
            self.groups.insert(key, group);
            return;
        }
        self.others_keys_seen = true;
        let h = key_hash(&key);
        let below = self
            .cutoff()
            .is_some_and(|(ch, ck)| (h, &*key) < (*ch, &**ck));
        if below {
            self.evict_cutoff();
            if let Some(kept) = &mut self.kept {
                kept.push((h, key.clone()));
            }
            self.groups.insert(key, group);
        } else {
            self.others.merge(&group);
        }
    }

    /// Moves the cutoff key's group into "others".
    fn evict_cutoff(&mut self) {
        if let Some((_, k)) = self.kept.as_mut().and_then(BinaryHeap::pop) {
            if let Some(g) = self.remove_group(&k) {
                self.others.merge(&g);
            }
        }
    }

    /// Keeps the `max_groups` keys with the smallest `(key_hash, key)`; the rest go to
    /// "others".
    fn trim_groups(&mut self) {
        let max = self.config.max_groups;
        if self.groups.len() <= max {
            return;
        }
        self.others_keys_seen = true;
        self.kept = None;
        let mut keys: Vec<(u64, Box<[u8]>)> = self
            .groups
            .keys()
            .map(|k| (key_hash(k), k.clone()))
            .collect();
        keys.sort_unstable();
        for (_, k) in keys.drain(max..) {
            if let Some(g) = self.remove_group(&k) {
                self.others.merge(&g);
            }
        }
    }

    /// The plain-data view: chosen percentiles, top `top` groups ordered by `sort` (the rest
    /// merged into one `others` entry).
    pub fn view(&self, percentiles: &[f64], top: usize, sort: SortBy) -> SummaryView {
        let mut status: Vec<(String, u64)> = self
            .status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, &n)| (code.to_string(), n))
            .collect();
        if self.no_status > 0 {
            status.push(("-".to_string(), self.no_status));
        }

        let mut groups: Vec<(&[u8], &Group)> = self.groups.iter().map(|(k, g)| (&**k, g)).collect();
        let key = |g: &Group| match sort {
            SortBy::Count => g.requests,
            SortBy::Sum => g.request_time.sum_us(),
            SortBy::P99 => g.request_time.percentile_us(99.0).unwrap_or(0),
        };
        groups.sort_by(|a, b| key(b.1).cmp(&key(a.1)).then_with(|| a.0.cmp(b.0)));
        let max_error = self.others.requests;
        let mut others = self.others.clone();
        let mut others_groups = u64::from(self.others_keys_seen);
        if groups.len() > top {
            for (_, g) in &groups[top..] {
                others.merge(g);
                others_groups += 1;
            }
            groups.truncate(top);
        }
        let multi = self.config.group_by.len() > 1;
        let group_view = |raw: &[u8], g: &Group| GroupView {
            key: display_key(raw),
            keys: if !multi {
                Vec::new()
            } else if raw == b"others" {
                // A real composite key always holds KEY_SEP: this is the merged rest.
                vec!["others".to_string(); self.config.group_by.len()]
            } else {
                key_parts(&String::from_utf8_lossy(raw))
            },
            requests: g.requests,
            status_class: g.classes.view(),
            request_time: g.request_time.view(percentiles),
        };
        let mut group_views: Vec<GroupView> =
            groups.iter().map(|(k, g)| group_view(k, g)).collect();
        if others.requests > 0 {
            group_views.push(group_view(b"others", &others));
        }
        let series = self
            .config
            .bucket
            .map(|width| self.series.view(width, &self.config.buckets_us));
        SummaryView {
            series,
            request_time_bins: self.request_time.log_bins(),
            sort,
            requests: self.requests,
            bytes: self.bytes,
            status,
            status_class: self.classes.view(),
            request_time: self.request_time.view(percentiles),
            upstream_response_time: self.upstream_time.view(percentiles),
            upstream_tries: self.upstream_tries,
            group_by: group_by_name(&self.config.group_by),
            groups: group_views,
            groups_in_others: others_groups,
            groups_approximate: self.others_keys_seen,
            max_error,
            percentile_definition: PERCENTILE_DEFINITION,
        }
    }
}

/// Appends the value of key `by` to `out` (a raw [`KEY_SEP`] in it becomes `?`). Route
/// normalisation and `--route` rules apply to the route part only.
fn push_key_part(
    by: GroupBy,
    routes: &[RouteRule],
    rec: &Record<'_>,
    status: Option<u16>,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    // Whether the part may hold KEY_SEP (the route part replaced it already).
    let may_hold_sep = match by {
        GroupBy::Route => {
            push_route(routes, rec, out);
            false
        }
        GroupBy::Host => {
            out.extend_from_slice(rec.get(Field::Host).unwrap_or(b"-"));
            true
        }
        GroupBy::Method => {
            out.extend_from_slice(rec.method().unwrap_or(b"-"));
            true
        }
        GroupBy::Status => {
            match status {
                // Three digits by construction (parse_status).
                Some(s) => {
                    out.extend_from_slice(&[s / 100, s / 10 % 10, s % 10].map(|d| b'0' + d as u8))
                }
                None => out.push(b'-'),
            }
            false
        }
        GroupBy::Client => {
            out.extend_from_slice(rec.get(Field::RemoteAddr).unwrap_or(b"-"));
            true
        }
    };
    // One search (keys almost never hold it), then the rare rewrite.
    if may_hold_sep && memchr::memchr(KEY_SEP, &out[start..]).is_some() {
        for b in &mut out[start..] {
            if *b == KEY_SEP {
                *b = b'?';
            }
        }
    }
}

/// Appends the route of `rec` to `out`: the name of the first `--route` rule matching its
/// path, else the normalised path; a raw [`KEY_SEP`] in it becomes `?`.
#[inline(always)]
fn push_route(routes: &[RouteRule], rec: &Record<'_>, out: &mut Vec<u8>) {
    if let Some(route) = route_key(routes, rec.path().unwrap_or(b"-"), out) {
        out.extend_from_slice(route);
    }
}

/// [`push_route`] of the record's `path`, or the route itself when it is the start of the
/// path as it is (most paths): the caller then uses that slice of the line and nothing is
/// written.
#[inline(always)]
fn route_key<'a>(routes: &[RouteRule], path: &'a [u8], out: &mut Vec<u8>) -> Option<&'a [u8]> {
    let start = out.len();
    let may_hold_sep = match routes.iter().find(|r| r.regex.is_match(path)) {
        Some(rule) => {
            out.extend_from_slice(rule.name.as_bytes());
            true
        }
        None => match normalize_route_or_borrow(path, out) {
            Route::Unchanged(route) => return Some(route),
            // The normaliser knows whether it copied one: no search on the common path.
            Route::Written { seen } => seen,
        },
    };
    if may_hold_sep && memchr::memchr(KEY_SEP, &out[start..]).is_some() {
        for b in &mut out[start..] {
            if *b == KEY_SEP {
                *b = b'?';
            }
        }
    }
    None
}

impl Summary {
    /// Count, p50 and p99 (seconds) of every tracked group by key (`others` for the rest), or
    /// of every request under `*` without a group-by: what `realip diff` compares.
    pub fn diff_points(&self) -> HashMap<String, (u64, Option<f64>, Option<f64>)> {
        let point = |n: u64, l: &Latency| {
            let s = |us: u64| us as f64 / 1e6;
            (
                n,
                l.percentile_us(50.0).map(s),
                l.percentile_us(99.0).map(s),
            )
        };
        let mut out = HashMap::default();
        if self.config.group_by.is_empty() {
            out.insert("*".to_string(), point(self.requests, &self.request_time));
            return out;
        }
        for (k, g) in &self.groups {
            out.insert(display_key(k), point(g.requests, &g.request_time));
        }
        if self.others.requests > 0 {
            out.insert(
                "others".to_string(),
                point(self.others.requests, &self.others.request_time),
            );
        }
        out
    }
}

/// One row of a diff: a group (or the whole, `*`) before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffRow {
    /// The group key (`*` for every request when there is no group-by).
    pub key: String,
    /// Requests before (`None`: the group is not in BEFORE).
    pub before_count: Option<u64>,
    /// Requests after.
    pub after_count: Option<u64>,
    /// p50 `$request_time` before, seconds.
    pub before_p50: Option<f64>,
    /// p50 after.
    pub after_p50: Option<f64>,
    /// p99 before.
    pub before_p99: Option<f64>,
    /// p99 after.
    pub after_p99: Option<f64>,
    /// `after_p99 - before_p99`, seconds, when both exist.
    pub p99_change: Option<f64>,
    /// `after_p50 - before_p50`.
    pub p50_change: Option<f64>,
    /// `after_count - before_count` (either missing counts as 0).
    pub count_change: i64,
}

/// A diff of two reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// What the rows are keyed by: `route`, `host`, … or `all`.
    pub group_by: String,
    /// Rows, biggest absolute p99 change first (rows with a change before rows without).
    pub rows: Vec<DiffRow>,
}

/// Compares two summaries per group (every group they track, not only the ones shown), by
/// count, p50 and p99 of `$request_time`, biggest p99 change first.
pub fn diff(before: &Summary, after: &Summary) -> Diff {
    let rows_b = before.diff_points();
    let rows_a = after.diff_points();
    let mut keys: Vec<&String> = rows_b.keys().chain(rows_a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows: Vec<DiffRow> = keys
        .into_iter()
        .map(|k| {
            let pb = rows_b.get(k);
            let pa = rows_a.get(k);
            let sub = |x: Option<f64>, y: Option<f64>| match (x, y) {
                (Some(x), Some(y)) => Some(round6(y - x)),
                _ => None,
            };
            let before_p50 = pb.and_then(|p| p.1);
            let after_p50 = pa.and_then(|p| p.1);
            let before_p99 = pb.and_then(|p| p.2);
            let after_p99 = pa.and_then(|p| p.2);
            let bc = pb.map(|p| p.0);
            let ac = pa.map(|p| p.0);
            DiffRow {
                key: k.clone(),
                before_count: bc,
                after_count: ac,
                before_p50,
                after_p50,
                before_p99,
                after_p99,
                p99_change: sub(before_p99, after_p99),
                p50_change: sub(before_p50, after_p50),
                count_change: i64::try_from(ac.unwrap_or(0)).unwrap_or(i64::MAX)
                    - i64::try_from(bc.unwrap_or(0)).unwrap_or(i64::MAX),
            }
        })
        .collect();
    rows.sort_by(|x, y| {
        let mag = |r: &DiffRow| r.p99_change.map(f64::abs);
        match (mag(x), mag(y)) {
            (Some(a), Some(b)) => b.total_cmp(&a),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| x.key.cmp(&y.key))
    });
    Diff {
        group_by: after
            .config
            .group_by
            .is_empty()
            .then(|| "all".to_string())
            .or_else(|| group_by_name(&after.config.group_by))
            .unwrap_or_default(),
        rows,
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// How percentiles are computed, stated in every report.
pub const PERCENTILE_DEFINITION: &str = "pN = smallest recorded value v such that at least N% \
     of values are <= v (nearest rank), within 3 significant digits (HDR histogram, 1 us \
     resolution); min, mean and max are exact";

impl AddAssign<&Summary> for Summary {
    fn add_assign(&mut self, other: &Summary) {
        self.requests += other.requests;
        self.bytes = self.bytes.saturating_add(other.bytes);
        for (a, b) in self.status.iter_mut().zip(other.status.iter()) {
            *a += b;
        }
        self.no_status += other.no_status;
        self.classes.merge(&other.classes);
        self.request_time.merge(&other.request_time);
        self.upstream_time.merge(&other.upstream_time);
        self.upstream_tries += other.upstream_tries;
        for (k, g) in &other.groups {
            if let Some(mine) = self.groups.get_mut(k) {
                mine.merge(g);
            } else {
                self.kept = None;
                self.groups.insert(k.clone(), g.clone());
            }
        }
        self.trim_groups();
        self.others.merge(&other.others);
        self.others_keys_seen |= other.others_keys_seen;
        self.series.merge(&other.series);
    }
}

impl Accumulate for Summary {
    #[inline]
    fn record(&mut self, rec: &Record<'_>, _at: LineAt) {
        Summary::record(self, rec);
    }

    fn merge(&mut self, other: Self) {
        *self += other;
    }
}

/// The most time buckets a series holds; a longer span is refused (bounded memory: each
/// bucket keeps a latency histogram).
pub const MAX_BUCKETS: u64 = 5000;

/// The percentiles of every time bucket.
pub const SERIES_PERCENTILES: &[f64] = &[50.0, 90.0, 99.0];

#[derive(Clone, Debug)]
struct Bucket {
    requests: u64,
    classes: StatusClasses,
    request_time: Latency,
    misresolved: u64,
}

impl Bucket {
    fn new(bounds: &Arc<[u64]>) -> Self {
        Bucket {
            requests: 0,
            classes: StatusClasses::default(),
            request_time: Latency::new(2, bounds),
            misresolved: 0,
        }
    }

    fn merge(&mut self, other: &Bucket) {
        self.requests += other.requests;
        self.classes.merge(&other.classes);
        self.request_time.merge(&other.request_time);
        self.misresolved += other.misresolved;
    }
}

/// Requests per time bucket, keyed by the bucket's start (seconds since the epoch, a multiple
/// of the width: buckets are aligned to the epoch, so `1h` buckets start on the hour UTC).
#[derive(Clone, Debug, Default)]
struct Series {
    buckets: BTreeMap<i64, Bucket>,
    /// Earliest and latest bucket start seen, kept even when the cap stops new buckets.
    first: Option<i64>,
    last: Option<i64>,
    /// Lines without a usable time.
    untimed: u64,
}

impl Series {
    /// The bucket of `t`, created when new; `None` past the cap.
    #[inline]
    fn bucket(&mut self, t: i64, width: u64, bounds: &Arc<[u64]>) -> Option<&mut Bucket> {
        let w = i64::try_from(width).unwrap_or(i64::MAX);
        let start = t.div_euclid(w).saturating_mul(w);
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.last = Some(self.last.map_or(start, |l| l.max(start)));
        let len = self.buckets.len() as u64;
        match self.buckets.entry(start) {
            std::collections::btree_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::btree_map::Entry::Vacant(e) if len < MAX_BUCKETS => {
                Some(e.insert(Bucket::new(bounds)))
            }
            std::collections::btree_map::Entry::Vacant(_) => None,
        }
    }

    /// Buckets from the first to the last, inclusive.
    fn span(&self, width: u64) -> Option<u64> {
        let (f, l) = (self.first?, self.last?);
        let w = i64::try_from(width).ok()?;
        Some(u64::try_from((l - f) / w).ok()? + 1)
    }

    fn merge(&mut self, other: &Series) {
        for (start, b) in &other.buckets {
            if let Some(mine) = self.buckets.get_mut(start) {
                mine.merge(b);
            } else if (self.buckets.len() as u64) < MAX_BUCKETS {
                self.buckets.insert(*start, b.clone());
            }
        }
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.untimed += other.untimed;
    }

    fn view(&self, width: u64, bounds: &Arc<[u64]>) -> SeriesView {
        let mut points = Vec::new();
        let w = i64::try_from(width).unwrap_or(i64::MAX);
        let empty = Bucket::new(bounds);
        if let (Some(first), Some(last), Some(span)) = (self.first, self.last, self.span(width)) {
            if span <= MAX_BUCKETS {
                let mut t = first;
                while t <= last {
                    let b = self.buckets.get(&t).unwrap_or(&empty);
                    points.push(PointView {
                        start: t,
                        requests: b.requests,
                        status_class: b.classes.view(),
                        request_time: b.request_time.view(SERIES_PERCENTILES),
                        misresolved: b.misresolved,
                    });
                    t = t.saturating_add(w);
                    if w == 0 {
                        break;
                    }
                }
            }
        }
        SeriesView {
            bucket_seconds: width,
            points,
            untimed: self.untimed,
        }
    }
}

/// A time series as reported: one point per bucket from the first request's bucket to the
/// last one's, empty buckets included.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesView {
    /// Bucket width in seconds.
    pub bucket_seconds: u64,
    /// The buckets, in time order.
    pub points: Vec<PointView>,
    /// Requests without a usable time (counted in the summary, in no bucket).
    pub untimed: u64,
}

/// One time bucket as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct PointView {
    /// Start of the bucket, seconds since the epoch (UTC).
    pub start: i64,
    /// Requests in the bucket.
    pub requests: u64,
    /// Status classes.
    pub status_class: StatusClassView,
    /// `$request_time` with [`SERIES_PERCENTILES`] (2 significant digits).
    pub request_time: LatencyView,
    /// Misresolved lines found by the audit (0 without an audit: see the report's audit).
    pub misresolved: u64,
}

impl AddAssign for Summary {
    /// Merges by moving the other side's groups in one at a time, never holding more than
    /// `max_groups` of them (the same result as the union trimmed at the end, without the
    /// memory of both sides' groups plus clones at once).
    fn add_assign(&mut self, mut other: Summary) {
        let groups = std::mem::take(&mut other.groups);
        *self += &other;
        for (k, g) in groups {
            self.absorb_group(k, g);
        }
    }
}

impl Add for Summary {
    type Output = Summary;
    fn add(mut self, other: Summary) -> Summary {
        self += &other;
        self
    }
}

/// A latency distribution as reported: seconds, `None` when there were no values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatencyView {
    /// Values recorded.
    pub count: u64,
    /// Smallest value (exact).
    pub min: Option<f64>,
    /// Mean (exact).
    pub mean: Option<f64>,
    /// Largest value (exact).
    pub max: Option<f64>,
    /// Sum of all values.
    pub sum: f64,
    /// `(key, value)` per requested percentile, e.g. `("p99", Some(0.25))`.
    #[serde(skip)]
    pub percentiles: Vec<(String, Option<f64>)>,
    /// Values above one hour, recorded as one hour in the histogram.
    pub clamped: u64,
    /// `(le, values <= le)` per histogram bucket bound in seconds, cumulative (Prometheus
    /// style); the `+Inf` bucket is `count`.
    #[serde(skip)]
    pub buckets: Vec<(f64, u64)>,
}

/// Counts per status class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusClassView {
    /// 1xx.
    #[serde(rename = "1xx")]
    pub c1xx: u64,
    /// 2xx.
    #[serde(rename = "2xx")]
    pub c2xx: u64,
    /// 3xx.
    #[serde(rename = "3xx")]
    pub c3xx: u64,
    /// 4xx (499 included).
    #[serde(rename = "4xx")]
    pub c4xx: u64,
    /// 5xx.
    #[serde(rename = "5xx")]
    pub c5xx: u64,
    /// 499 (client closed the connection), also counted in 4xx.
    #[serde(rename = "499")]
    pub c499: u64,
}

impl StatusClassView {
    /// `(name, count)` pairs in report order.
    pub fn pairs(&self) -> [(&'static str, u64); 6] {
        [
            ("1xx", self.c1xx),
            ("2xx", self.c2xx),
            ("3xx", self.c3xx),
            ("4xx", self.c4xx),
            ("5xx", self.c5xx),
            ("499", self.c499),
        ]
    }
}

/// One group as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupView {
    /// The group key (route, host, …; several values joined by `,`); `others` for the merged
    /// rest.
    pub key: String,
    /// With several `--group-by` keys: the value of each key, in order (`others` for each in
    /// the merged rest); empty with one key.
    pub keys: Vec<String>,
    /// Requests in the group.
    pub requests: u64,
    /// Status classes.
    pub status_class: StatusClassView,
    /// `$request_time` distribution (2 significant digits).
    pub request_time: LatencyView,
}

/// A summary as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryView {
    /// Requests counted.
    pub requests: u64,
    /// Sum of `$body_bytes_sent`.
    pub bytes: u64,
    /// `(status, count)`, ascending; `-` for lines without a status.
    pub status: Vec<(String, u64)>,
    /// Status classes.
    pub status_class: StatusClassView,
    /// `$request_time`.
    pub request_time: LatencyView,
    /// `$upstream_response_time` (sum per request).
    pub upstream_response_time: LatencyView,
    /// Upstream attempts in total (more than requests with an upstream time means retries).
    pub upstream_tries: u64,
    /// The group-by keys as given (`route`, `host,route`), if any.
    pub group_by: Option<String>,
    /// Top groups, then `others`.
    pub groups: Vec<GroupView>,
    /// How many distinct keys were merged into `others` (at least; exact unless
    /// `groups_approximate`, which counts the keys outside the sample as one).
    pub groups_in_others: u64,
    /// Whether there were more distinct keys than `max_groups`: the groups listed are then
    /// the top of a deterministic sample of keys (exact counts, the same for any split).
    pub groups_approximate: bool,
    /// Requests of keys outside that sample (0 when not approximate): no key that is not
    /// listed has more requests than this.
    pub max_error: u64,
    /// How percentiles are defined.
    pub percentile_definition: &'static str,
    /// The time series, with `--bucket`.
    pub series: Option<SeriesView>,
    /// `$request_time` counts in logarithmic bins (`Latency::log_bins`), for charts.
    pub request_time_bins: Vec<(f64, f64, u64)>,
    /// How the groups are ordered.
    pub sort: SortBy,
}

// --- serialised state (`realip merge`) ------------------------------------------------

/// A latency distribution in full: the histogram as base64 of hdrhistogram's V2
/// serialisation, and the exact sum, min and max in microseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyState {
    /// base64 (standard alphabet, padded) of the V2 serialisation of the histogram of
    /// microseconds (lowest 1, highest [`MAX_LATENCY_US`]).
    pub hdr: String,
    /// Sum of every value, µs.
    pub sum_us: u64,
    /// Smallest value, µs (absent when empty).
    pub min_us: Option<u64>,
    /// Largest value, µs.
    pub max_us: u64,
    /// Values above one hour.
    pub clamped: u64,
    /// Exact counts per Prometheus bucket (not cumulative; the last is above every bound).
    pub buckets: Vec<u64>,
}

impl Latency {
    fn state(&self) -> LatencyState {
        let mut bytes = Vec::new();
        // Serialising into a Vec cannot fail for a histogram of u64 counts.
        let _ = V2Serializer::new().serialize(&self.hist, &mut bytes);
        LatencyState {
            hdr: BASE64.encode(&bytes),
            sum_us: self.sum_us,
            min_us: (self.count() > 0).then_some(self.min_us),
            max_us: self.max_us,
            clamped: self.clamped,
            buckets: self.counts.to_vec(),
        }
    }

    fn from_state(sigfig: u8, bounds: &Arc<[u64]>, s: &LatencyState) -> Result<Latency, String> {
        let bytes = BASE64
            .decode(&s.hdr)
            .map_err(|e| format!("histogram is not base64: {e}"))?;
        let hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("histogram is not hdrhistogram V2: {e:?}"))?;
        if hist.sigfig() != sigfig || hist.high() != MAX_LATENCY_US || hist.low() != 1 {
            return Err(format!(
                "histogram has {} significant digits and range {}..={} µs; realip writes {} and \
                 1..={}",
                hist.sigfig(),
                hist.low(),
                hist.high(),
                sigfig,
                MAX_LATENCY_US
            ));
        }
        let mut l = Latency::new(sigfig, bounds);
        if s.buckets.len() != l.counts.len() {
            return Err(format!(
                "{} bucket counts for {} --buckets bounds",
                s.buckets.len(),
                bounds.len()
            ));
        }
        l.counts.copy_from_slice(&s.buckets);
        if Histogram::<u64>::add(&mut l.hist, &hist).is_err() {
            return Err("histogram does not fit realip's bounds".to_string());
        }
        l.sum_us = s.sum_us;
        l.min_us = s.min_us.unwrap_or(u64::MAX);
        l.max_us = s.max_us;
        l.clamped = s.clamped;
        Ok(l)
    }
}

/// A group key: text when it is UTF-8, else base64 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The key, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    /// base64 of the key's bytes, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_base64: Option<String>,
}

impl KeyState {
    fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => KeyState {
                key: Some(s.to_string()),
                key_base64: None,
            },
            Err(_) => KeyState {
                key: None,
                key_base64: Some(BASE64.encode(bytes)),
            },
        }
    }

    fn bytes(&self) -> Result<Box<[u8]>, String> {
        match (&self.key, &self.key_base64) {
            (Some(k), None) => Ok(Box::from(k.as_bytes())),
            (None, Some(b)) => BASE64
                .decode(b)
                .map(Vec::into_boxed_slice)
                .map_err(|e| format!("group key is not base64: {e}")),
            _ => Err("a group needs exactly one of key and key_base64".to_string()),
        }
    }
}

/// One group in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The key (empty for "others").
    #[serde(flatten)]
    pub key: KeyState,
    /// Requests.
    pub requests: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, 499.
    pub status_class: [u64; 6],
    /// `$request_time` (2 significant digits).
    pub request_time: LatencyState,
}

impl Group {
    fn state(&self, key: &[u8]) -> GroupState {
        GroupState {
            key: KeyState::new(key),
            requests: self.requests,
            status_class: self.classes.counts,
            request_time: self.request_time.state(),
        }
    }

    fn from_state(bounds: &Arc<[u64]>, s: &GroupState) -> Result<Group, String> {
        Ok(Group {
            requests: s.requests,
            classes: StatusClasses {
                counts: s.status_class,
            },
            request_time: Latency::from_state(2, bounds, &s.request_time)?,
            memo_id: 0,
        })
    }
}

/// One time bucket in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketState {
    /// Start, seconds since the epoch.
    pub start: i64,
    /// Requests.
    pub requests: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, 499.
    pub status_class: [u64; 6],
    /// `$request_time` (2 significant digits).
    pub request_time: LatencyState,
    /// Misresolved lines.
    pub misresolved: u64,
}

/// A time series in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesState {
    /// First bucket start seen.
    pub first: Option<i64>,
    /// Last bucket start seen.
    pub last: Option<i64>,
    /// Requests without a usable time.
    pub untimed: u64,
    /// Non-empty buckets, in time order.
    pub buckets: Vec<BucketState>,
}

/// A [`Summary`] in full, enough to merge it exactly with others made with the same
/// [`SummaryConfig`]: every group (not only the ones shown), every histogram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryState {
    /// Requests.
    pub requests: u64,
    /// Sum of body bytes.
    pub bytes: u64,
    /// `[status, count]` for every status seen, ascending.
    pub status: Vec<(u16, u64)>,
    /// Lines without a status.
    pub no_status: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, 499.
    pub status_class: [u64; 6],
    /// `$request_time` (3 significant digits).
    pub request_time: LatencyState,
    /// `$upstream_response_time` (3 significant digits).
    pub upstream_response_time: LatencyState,
    /// Upstream attempts.
    pub upstream_tries: u64,
    /// Every tracked group, by key.
    pub groups: Vec<GroupState>,
    /// Requests of keys beyond `max_groups`.
    pub others: GroupState,
    /// Whether any key went to `others`.
    pub others_keys_seen: bool,
    /// The time series, with a bucket width.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub series: Option<SeriesState>,
}

impl Summary {
    /// The full state, for `realip merge`. Groups and buckets are sorted, so equal summaries
    /// give equal states.
    pub fn state(&self) -> SummaryState {
        let mut groups: Vec<(&[u8], &Group)> = self.groups.iter().map(|(k, g)| (&**k, g)).collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        let series = self.config.bucket.map(|_| SeriesState {
            first: self.series.first,
            last: self.series.last,
            untimed: self.series.untimed,
            buckets: self
                .series
                .buckets
                .iter()
                .map(|(start, b)| BucketState {
                    start: *start,
                    requests: b.requests,
                    status_class: b.classes.counts,
                    request_time: b.request_time.state(),
                    misresolved: b.misresolved,
                })
                .collect(),
        });
        SummaryState {
            requests: self.requests,
            bytes: self.bytes,
            status: self
                .status
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(code, &n)| (u16::try_from(code).unwrap_or(0), n))
                .collect(),
            no_status: self.no_status,
            status_class: self.classes.counts,
            request_time: self.request_time.state(),
            upstream_response_time: self.upstream_time.state(),
            upstream_tries: self.upstream_tries,
            groups: groups.iter().map(|(k, g)| g.state(k)).collect(),
            others: self.others.state(b""),
            others_keys_seen: self.others_keys_seen,
            series,
        }
    }

    /// A summary from its full state; `config` must be the one it was made with (the caller
    /// checks the options). Errors say what in the state is wrong.
    pub fn from_state(config: Arc<SummaryConfig>, s: &SummaryState) -> Result<Summary, String> {
        let mut out = Summary::new(Arc::clone(&config));
        out.requests = s.requests;
        out.bytes = s.bytes;
        for &(code, n) in &s.status {
            let slot = out
                .status
                .get_mut(usize::from(code))
                .ok_or_else(|| format!("status {code} is not a 3-digit status"))?;
            *slot = n;
        }
        out.no_status = s.no_status;
        out.classes = StatusClasses {
            counts: s.status_class,
        };
        let bounds = &config.buckets_us;
        out.request_time = Latency::from_state(3, bounds, &s.request_time)?;
        out.upstream_time = Latency::from_state(3, bounds, &s.upstream_response_time)?;
        out.upstream_tries = s.upstream_tries;
        for g in &s.groups {
            out.groups
                .insert(g.key.bytes()?, Group::from_state(bounds, g)?);
        }
        out.others = Group::from_state(bounds, &s.others)?;
        out.others_keys_seen = s.others_keys_seen;
        match (&s.series, config.bucket) {
            (Some(series), Some(_)) => {
                out.series.first = series.first;
                out.series.last = series.last;
                out.series.untimed = series.untimed;
                for b in &series.buckets {
                    out.series.buckets.insert(
                        b.start,
                        Bucket {
                            requests: b.requests,
                            classes: StatusClasses {
                                counts: b.status_class,
                            },
                            request_time: Latency::from_state(2, bounds, &b.request_time)?,
                            misresolved: b.misresolved,
                        },
                    );
                }
            }
            (None, None) => {}
            (Some(_), None) => return Err("a time series without a bucket width".to_string()),
            (None, Some(_)) => return Err("a bucket width without a time series".to_string()),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(status: &'a str, rt: &'a str, path: &'a str) -> Record<'a> {
        let mut r = Record::new();
        r.set(Field::Status, status.as_bytes());
        r.set(Field::RequestTime, rt.as_bytes());
        r.set(Field::RequestUri, path.as_bytes());
        r
    }

    fn cfg(group_by: Option<GroupBy>, max_groups: usize) -> Arc<SummaryConfig> {
        Arc::new(SummaryConfig {
            group_by: group_by.into_iter().collect(),
            routes: vec![],
            max_groups,
            ..SummaryConfig::default()
        })
    }

    #[test]
    fn counts_status_codes_and_classes_with_499_apart() {
        let mut s = Summary::new(cfg(None, 10));
        for st in ["200", "200", "404", "499", "502", "-"] {
            s.record(&rec(st, "0.001", "/"));
        }
        let v = s.view(DEFAULT_PERCENTILES, 10, SortBy::Count);
        assert_eq!(v.requests, 6);
        let classes = v.status_class.pairs();
        assert_eq!(
            classes,
            [
                ("1xx", 0),
                ("2xx", 2),
                ("3xx", 0),
                ("4xx", 2),
                ("5xx", 1),
                ("499", 1)
            ]
        );
        assert_eq!(v.status.last(), Some(&("-".to_string(), 1)));
    }

    #[test]
    fn percentiles_match_brute_force_within_precision() {
        let mut s = Summary::new(cfg(None, 10));
        let mut values: Vec<u64> = (1..=10_000u64)
            .map(|i| (i * 7919) % 5_000_000 + 1)
            .collect();
        for v in &values {
            let text = format!("{}.{:06}", v / 1_000_000, v % 1_000_000);
            s.record(&rec("200", &text, "/"));
        }
        values.sort_unstable();
        for p in [50.0, 90.0, 99.0, 99.9] {
            let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
            let exact = values[rank - 1] as f64;
            let got = s.request_time().percentile_us(p).unwrap() as f64;
            assert!(
                (got - exact).abs() <= exact * 0.001 + 1.0,
                "p{p}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn merging_any_split_gives_the_same_view() {
        let recs: Vec<(String, String, String)> = (0..500)
            .map(|i| {
                let st = ["200", "301", "404", "499", "503"][i % 5].to_string();
                (
                    st,
                    format!("0.{:03}", i % 1000),
                    format!("/item/{}/x", i % 37),
                )
            })
            .collect();
        let c = cfg(Some(GroupBy::Route), 1000);
        let mut whole = Summary::new(c.clone());
        for (st, rt, p) in &recs {
            whole.record(&rec(st, rt, p));
        }
        let mut a = Summary::new(c.clone());
        let mut b = Summary::new(c.clone());
        for (i, (st, rt, p)) in recs.iter().enumerate() {
            if i % 3 == 0 { &mut a } else { &mut b }.record(&rec(st, rt, p));
        }
        let merged = a + b;
        assert_eq!(
            whole.view(DEFAULT_PERCENTILES, 5, SortBy::Count),
            merged.view(DEFAULT_PERCENTILES, 5, SortBy::Count)
        );
    }

    proptest::proptest! {
        #[test]
        fn bucket_of_is_the_partition_point(
            mut bounds in proptest::collection::vec(0u64..40, 0..20),
            us in 0u64..45,
        ) {
            bounds.sort_unstable();
            bounds.dedup();
            proptest::prop_assert_eq!(bucket_of(&bounds, us), bounds.partition_point(|&b| b < us));
        }

        /// `--group-by route` through the route memo (paths seen again, groups evicted under
        /// a small cap, which renumbers them) counts exactly what the reference normaliser
        /// and the cap rule give: the `max_groups` smallest `(key_hash, route)` with their
        /// own counts, every other request in "others".
        #[test]
        fn route_groups_through_the_memo_are_the_reference_counts(
            picks in proptest::collection::vec((0usize..15, 0u32..6), 1..400),
            max_groups in 1usize..8,
            ids_left in proptest::option::of(0u32..12),
        ) {
            let shapes = [
                "/", "/healthz", "/u/{}", "/u/{}/orders", "/s?q={}", "/a{}.css",
                "/static/app.0c5e9f7{}.js", "/v/{}{}{}{}{}{}{}{}", "/x/{}?a=1", "/-", "/u/abc", "/{}",
                "/o/0c5e9f7a-1b2c-4d3e-8f9a-0b1c2d3e4f5{}", "/s?q=/{}", "/u/{}/{}",
            ];
            let paths: Vec<String> = picks
                .iter()
                .map(|&(shape, n)| shapes[shape].replace("{}", &n.to_string()))
                .collect();
            let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
            for p in &paths {
                let mut route = Vec::new();
                normalize_route_reference(p.as_bytes(), &mut route);
                *counts.entry(route).or_default() += 1;
            }
            let mut keys: Vec<&Vec<u8>> = counts.keys().collect();
            keys.sort_by_key(|k| (key_hash(k), k.as_slice()));
            let mut want: Vec<(String, u64)> = keys
                .iter()
                .take(max_groups)
                .map(|k| (String::from_utf8_lossy(k).into_owned(), counts[*k]))
                .collect();
            want.sort_unstable();
            let mut s = Summary::new(cfg(Some(GroupBy::Route), max_groups));
            if let Some(left) = ids_left {
                // The memo's ids run out (and start again) within the run.
                s.memo.use_ids_up_to(u32::MAX - left);
            }
            for p in &paths {
                s.record(&rec("200", "0.1", p));
            }
            let v = s.view(DEFAULT_PERCENTILES, usize::MAX, SortBy::Count);
            let mut got: Vec<(String, u64)> = v
                .groups
                .iter()
                .filter(|g| g.key != "others" || !v.groups_approximate)
                .map(|g| (g.key.clone(), g.requests))
                .collect();
            got.sort_unstable();
            let kept: u64 = want.iter().map(|w| w.1).sum();
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(v.max_error, paths.len() as u64 - kept);
        }
    }

    #[test]
    fn groups_beyond_the_cap_keep_the_smallest_key_hashes_and_send_the_rest_to_others() {
        let paths = ["/a", "/b", "/c", "/a", "/d"];
        let mut by_hash: Vec<&str> = vec!["/a", "/b", "/c", "/d"];
        by_hash.sort_by_key(|k| key_hash(k.as_bytes()));
        let kept = &by_hash[..2];
        let mut s = Summary::new(cfg(Some(GroupBy::Route), 2));
        for p in paths {
            s.record(&rec("200", "0.1", p));
        }
        let v = s.view(DEFAULT_PERCENTILES, 10, SortBy::Count);
        let count = |k: &str| paths.iter().filter(|p| **p == k).count() as u64;
        let mut want: Vec<(String, u64)> = kept.iter().map(|k| (k.to_string(), count(k))).collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let others = 5 - want.iter().map(|w| w.1).sum::<u64>();
        want.push(("others".into(), others));
        let got: Vec<(String, u64)> = v
            .groups
            .iter()
            .map(|g| (g.key.clone(), g.requests))
            .collect();
        assert_eq!(got, want);
        assert!(v.groups_approximate);
        assert_eq!(v.max_error, others);
        let v = s.view(DEFAULT_PERCENTILES, 1, SortBy::Count);
        assert_eq!(v.groups.len(), 2);
        assert_eq!(v.groups[1].key, "others");
        assert_eq!(v.groups[0].requests + v.groups[1].requests, 5);
    }

    /// The route memo's ids running out (after 2^32 - 1 groups in a worker) take every
    /// group's id back: a path memoised as one group's never counts into another group that
    /// was given the same id after the restart and moved into its index by an eviction.
    #[test]
    fn route_memo_ids_running_out_never_send_a_path_to_another_group() {
        let mut keys: Vec<String> = (0..10).map(|i| format!("/k{i}")).collect();
        keys.sort_by_key(|k| key_hash(k.as_bytes()));
        let (c, b, a) = (&keys[0], &keys[1], &keys[2]);
        let mut s = Summary::new(cfg(Some(GroupBy::Route), 2));
        s.record(&rec("200", "0.1", a));
        s.memo.use_ids_up_to(u32::MAX);
        // `b` finds the ids used up; `a` is memoised again; `c` evicts `a` (the largest
        // kept hash), which moves `b` into `a`'s index; `a` must then go to "others".
        for p in [b, a, c, a, a] {
            s.record(&rec("200", "0.1", p));
        }
        let v = s.view(DEFAULT_PERCENTILES, usize::MAX, SortBy::Count);
        let mut got: Vec<(String, u64)> = v
            .groups
            .iter()
            .map(|g| (g.key.clone(), g.requests))
            .collect();
        got.sort_unstable();
        let mut want = vec![(b.clone(), 1), (c.clone(), 1), ("others".to_string(), 4)];
        want.sort_unstable();
        assert_eq!(got, want);
    }

    /// Thousands of keys through a cap of 40 (hundreds of evictions, each a heap step):
    /// exactly the 40 smallest `(key_hash, key)` are kept, with their own counts, whether
    /// the lines come one by one or as two summaries merged and a state merged in.
    #[test]
    fn many_keys_over_the_cap_keep_exactly_the_smallest_key_hashes() {
        let paths: Vec<String> = (0..3000)
            .map(|i| format!("/k{}", i * 7919 % 1201))
            .collect();
        let mut keys: Vec<&str> = paths.iter().map(String::as_str).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.sort_by_key(|k| (key_hash(k.as_bytes()), k.as_bytes()));
        let count = |k: &str| paths.iter().filter(|p| *p == k).count() as u64;
        let mut want: Vec<(String, u64)> = keys[..40]
            .iter()
            .map(|k| (k.to_string(), count(k)))
            .collect();
        want.sort_unstable();
        let c = cfg(Some(GroupBy::Route), 40);
        let mut one = Summary::new(c.clone());
        let (mut a, mut b) = (Summary::new(c.clone()), Summary::new(c.clone()));
        for (i, p) in paths.iter().enumerate() {
            one.record(&rec("200", "0.1", p));
            if i % 2 == 0 { &mut a } else { &mut b }.record(&rec("200", "0.1", p));
        }
        let merged = a + b;
        let restored = Summary::from_state(c.clone(), &merged.state()).unwrap();
        let mut via_state = Summary::new(c);
        via_state += &restored;
        for s in [&one, &merged, &via_state] {
            let v = s.view(DEFAULT_PERCENTILES, 100, SortBy::Count);
            let mut got: Vec<(String, u64)> = v
                .groups
                .iter()
                .filter(|g| g.key != "others")
                .map(|g| (g.key.clone(), g.requests))
                .collect();
            got.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(v.groups.iter().map(|g| g.requests).sum::<u64>(), 3000);
        }
    }

    #[test]
    fn issue_10_group_by_over_max_groups_is_the_same_for_every_split() {
        // See: issue #10. Counts differed between -j1 and -j2 once keys exceeded the cap.
        let recs: Vec<(String, String, String)> = (0..3000u64)
            .map(|i| {
                // Skewed: route k gets about 3000/(k+1) requests.
                let k = (i * 7919 % 3000) % (1 + i % 97);
                (
                    ["200", "404", "503"][(i % 3) as usize].to_string(),
                    format!("0.{:03}", i % 1000),
                    format!("/r{k}"),
                )
            })
            .collect();
        let c = cfg(Some(GroupBy::Route), 20);
        let view = |s: &Summary| s.view(DEFAULT_PERCENTILES, 10, SortBy::Count);
        let mut whole = Summary::new(c.clone());
        for (st, rt, p) in &recs {
            whole.record(&rec(st, rt, p));
        }
        let want = view(&whole);
        assert!(want.groups_approximate);
        assert!(want.max_error > 0);
        assert_eq!(want.groups.iter().map(|g| g.requests).sum::<u64>(), 3000);
        // By reference (union, then trimmed) and by value (groups moved in one at a time,
        // never more than the cap: how workers merge).
        for (parts, by_value) in [2usize, 3, 7, 64]
            .into_iter()
            .flat_map(|p| [(p, false), (p, true)])
        {
            for interleaved in [false, true] {
                let mut split: Vec<Summary> = (0..parts).map(|_| Summary::new(c.clone())).collect();
                for (i, (st, rt, p)) in recs.iter().enumerate() {
                    let at = if interleaved {
                        i % parts
                    } else {
                        i * parts / recs.len()
                    };
                    split[at].record(&rec(st, rt, p));
                }
                // Merge in an uneven tree: right to left, then pairwise.
                let mut merged = split.pop().unwrap();
                while let Some(mut s) = split.pop() {
                    match (by_value, split.len().is_multiple_of(2)) {
                        (false, true) => {
                            s += &merged;
                            merged = s;
                        }
                        (false, false) => merged += &s,
                        (true, true) => {
                            s += merged;
                            merged = s;
                        }
                        (true, false) => merged += s,
                    }
                    assert!(!by_value || merged.groups.len() <= 20);
                }
                assert_eq!(
                    view(&merged),
                    want,
                    "{parts} parts, interleaved {interleaved}, by value {by_value}"
                );
            }
        }
    }

    #[test]
    fn bucket_counts_are_exact_and_merge() {
        let c = Arc::new(SummaryConfig {
            buckets_us: buckets_us(&[0.05, 0.1]).unwrap().into(),
            ..SummaryConfig::default()
        });
        let mut a = Summary::new(Arc::clone(&c));
        let mut b = Summary::new(c);
        a.record(&rec("200", "0.050", "/"));
        a.record(&rec("200", "0.051", "/"));
        b.record(&rec("200", "0.100", "/"));
        b.record(&rec("200", "7.000", "/"));
        a += b;
        let v = a.view(&[50.0], 10, SortBy::Count);
        assert_eq!(v.request_time.buckets, vec![(0.05, 1), (0.1, 3)]);
        assert_eq!(v.request_time.count, 4);
        assert!(buckets_us(&[0.1, 0.1]).is_err());
        assert!(buckets_us(&[]).is_err());
        assert!(buckets_us(&[f64::NAN]).is_err());
    }

    #[test]
    fn route_rules_win_over_normalisation() {
        let rule = RouteRule::parse("^/api/v[0-9]+/users=users").unwrap();
        let c = Arc::new(SummaryConfig {
            group_by: vec![GroupBy::Route],
            routes: vec![rule],
            max_groups: 10,
            ..SummaryConfig::default()
        });
        let mut s = Summary::new(c);
        s.record(&rec("200", "0.1", "/api/v2/users/7"));
        s.record(&rec("200", "0.1", "/api/v3/users"));
        s.record(&rec("200", "0.1", "/other/7"));
        let v = s.view(DEFAULT_PERCENTILES, 10, SortBy::Count);
        let keys: Vec<&str> = v.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["users", "/other/{id}"]);
        assert!(RouteRule::parse("no-equals").is_err());
        assert!(RouteRule::parse("([=x").is_err());
    }

    fn timed<'a>(status: &'a str, rt: &'a str, time: &'a str) -> Record<'a> {
        let mut r = rec(status, rt, "/");
        r.set(Field::TimeIso8601, time.as_bytes());
        r
    }

    fn bucketed(width: u64) -> Arc<SummaryConfig> {
        Arc::new(SummaryConfig {
            bucket: Some(width),
            ..SummaryConfig::default()
        })
    }

    #[test]
    fn series_buckets_by_the_line_time_with_empty_buckets_between() {
        let mut s = Summary::new(bucketed(60));
        // Out of file order on purpose: buckets come from the timestamps.
        s.record(&timed("200", "0.010", "2026-11-25T10:02:59Z"));
        s.record(&timed("500", "0.300", "2026-11-25T10:00:00Z"));
        s.record(&timed("200", "0.020", "2026-11-25T10:00:59+00:00"));
        s.record(&rec("200", "0.020", "/"));
        s.note_misresolved(Some(1_795_600_800 + 170));
        let v = s
            .view(DEFAULT_PERCENTILES, 10, SortBy::Count)
            .series
            .unwrap();
        assert_eq!(v.bucket_seconds, 60);
        assert_eq!(v.untimed, 1);
        let got: Vec<(i64, u64, u64, u64)> = v
            .points
            .iter()
            .map(|p| (p.start, p.requests, p.status_class.c5xx, p.misresolved))
            .collect();
        let t0 = 1_795_600_800;
        assert_eq!(
            got,
            [(t0, 2, 1, 0), (t0 + 60, 0, 0, 0), (t0 + 120, 1, 0, 1)]
        );
        assert_eq!(v.points[0].request_time.max, Some(0.3));
        assert_eq!(v.points[1].request_time.max, None);
        assert!(s.series_too_long().is_none());
    }

    #[test]
    fn series_merge_exactly_and_refuse_too_many_buckets() {
        let times: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "2026-11-25T{:02}:{:02}:{:02}Z",
                    10 + i / 120,
                    (i * 7) % 60,
                    i % 60
                )
            })
            .collect();
        let mut whole = Summary::new(bucketed(300));
        let (mut a, mut b) = (Summary::new(bucketed(300)), Summary::new(bucketed(300)));
        for (i, t) in times.iter().enumerate() {
            let rt = format!("0.{:03}", i);
            whole.record(&timed("200", &rt, t));
            if i % 2 == 0 { &mut a } else { &mut b }.record(&timed("200", &rt, t));
        }
        let merged = b + a;
        assert_eq!(
            whole.view(DEFAULT_PERCENTILES, 5, SortBy::Count),
            merged.view(DEFAULT_PERCENTILES, 5, SortBy::Count)
        );
        let mut long = Summary::new(bucketed(1));
        long.record(&timed("200", "0.1", "2026-11-25T00:00:00Z"));
        long.record(&timed("200", "0.1", "2026-11-26T00:00:00Z"));
        assert_eq!(long.series_too_long(), Some(86_401));
    }

    #[test]
    fn state_round_trips_and_merges_like_the_whole() {
        let c = Arc::new(SummaryConfig {
            group_by: vec![GroupBy::Route],
            bucket: Some(60),
            ..SummaryConfig::default()
        });
        let mut whole = Summary::new(Arc::clone(&c));
        let (mut a, mut b) = (Summary::new(Arc::clone(&c)), Summary::new(Arc::clone(&c)));
        for i in 0..400u32 {
            let t = format!("2026-11-25T10:{:02}:{:02}Z", i % 7, i % 60);
            let rt = format!("{}.{:03}", i % 3, (i * 37) % 1000);
            let path = format!("/p/{}/{}", i % 5, ["x", "y\u{e9}"][i as usize % 2]);
            let mut r = timed(["200", "404", "503"][i as usize % 3], &rt, &t);
            r.set(Field::RequestUri, path.as_bytes());
            whole.record(&r);
            if i < 150 { &mut a } else { &mut b }.record(&r);
        }
        let sa = a.state();
        let json = serde_json::to_string(&sa).unwrap();
        let back: SummaryState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sa);
        let a2 = Summary::from_state(Arc::clone(&c), &back).unwrap();
        assert_eq!(a2.state(), sa);
        let b2 = Summary::from_state(Arc::clone(&c), &b.state()).unwrap();
        let merged = a2 + b2;
        assert_eq!(merged.state(), whole.state());
        assert_eq!(
            merged.view(DEFAULT_PERCENTILES, 3, SortBy::P99),
            whole.view(DEFAULT_PERCENTILES, 3, SortBy::P99)
        );
    }

    #[test]
    fn state_refuses_foreign_histograms() {
        let c = Arc::new(SummaryConfig::default());
        let mut st = Summary::new(Arc::clone(&c)).state();
        let mut other = Latency::new(3, &c.buckets_us);
        other.hist = Histogram::new_with_max(1000, 3).unwrap();
        st.request_time = other.state();
        let e = Summary::from_state(Arc::clone(&c), &st).unwrap_err();
        assert!(e.contains("range 1..=1000"), "{e}");
        st.request_time.hdr = "!!".into();
        assert!(Summary::from_state(c, &st).unwrap_err().contains("base64"));
    }

    #[test]
    fn percentile_keys_are_compact() {
        assert_eq!(percentile_key(50.0), "p50");
        assert_eq!(percentile_key(99.9), "p999");
        assert_eq!(percentile_key(99.99), "p9999");
    }
}
