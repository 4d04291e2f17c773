//! Generates realistic, seeded nginx access logs for benchmarks and manual testing.
//!
//! This owns the synthetic traffic model used by `scripts/compare.sh` (and anyone who needs a
//! large log); it parses nothing and depends on nothing in the crate. Same seed, same options,
//! same machine: byte-identical output (only `ln`/`exp`/`cos` of the platform's libm could make
//! another machine differ).
//!
//! ```text
//! cargo run --release --example gen_log -- (--lines N | --bytes SIZE) [--seed S]
//!     [--format combined|main|realip] [-o FILE]
//! ```
//!
//! `SIZE` takes a K, M or G suffix (powers of 1024); generation stops at the first line
//! boundary at or past the size. Output goes to stdout unless `-o` is given.
//!
//! # Traffic model
//!
//! The site sits behind a Google Cloud external HTTP(S) load balancer and nginx is configured
//! the way a careful (but not quite careful enough) operator would:
//!
//! ```nginx
//! set_real_ip_from 35.191.0.0/16;     # Google front ends (the TCP peer)
//! set_real_ip_from 130.211.0.0/22;
//! set_real_ip_from 34.120.5.6;        # the load balancer's IP, appended to X-Forwarded-For
//! real_ip_header X-Forwarded-For;
//! real_ip_recursive on;
//! # 34.149.9.9, a second load balancer added later, was never trusted.
//! ```
//!
//! Traffic shares, with the TCP peer (`$realip_remote_addr`), X-Forwarded-For and the
//! `$remote_addr` nginx logs as a result:
//!
//! - 85 % through the trusted LB: peer a Google front end, XFF `client,34.120.5.6`
//!   (5 % of these with a client-supplied prefix, `1.2.3.4, client,34.120.5.6`), remote_addr
//!   the client;
//! - 2 % through the untrusted second LB: XFF `client,34.149.9.9`, remote_addr `34.149.9.9`
//!   (the misconfiguration `realip` exists to find);
//! - 10 % direct: peer and remote_addr the client, no XFF (`-`);
//! - 3 % `GoogleHC/1.0` health checks of `/healthz`: peer a Google front end, no XFF,
//!   remote_addr the peer.
//!
//! Clients: 15 % IPv6 (documentation `2001:db8::/32` and real-looking global prefixes such as
//! `2a00:1450:`), drawn from fixed pools with a Zipf-like (log-uniform rank) distribution so
//! that some clients repeat a lot. Status classes: 2xx 88 %, 3xx 4 %, 4xx 6 % (499 0.5 %), 5xx 2 %.
//! `$request_time` is lognormal (median 30 ms for the API, 1 ms for static files) with
//! millisecond precision like nginx; `$upstream_response_time` is slightly smaller, sometimes
//! two values (`0.010, 0.020`, a retry), and `-` for static files, health checks and 499s.
//! `$time_local` starts at `10/Oct/2026:13:55:36 +0000` and never goes backwards (an internal
//! microsecond clock strictly increases; at one-second resolution many lines share a second).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::Ipv6Addr;
use std::process::ExitCode;

const USAGE: &str = "\
usage: gen_log (--lines N | --bytes SIZE) [--seed S] [--format combined|main|realip] [-o FILE]

  --lines N        write exactly N lines
  --bytes SIZE     write lines until SIZE bytes are reached (suffix K, M, G = powers of 1024);
                   stops at the first line boundary at or past SIZE
  --seed S         PRNG seed (default 1); same seed, same options => byte-identical output
  --format F       combined (default), main (combined + \"$http_x_forwarded_for\"), or realip:
                   combined + \"$http_x_forwarded_for\" $realip_remote_addr $request_time
                   $upstream_response_time
  -o FILE          write to FILE instead of stdout";

/// Which `log_format` to render.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Combined,
    Main,
    Realip,
}

/// When to stop.
#[derive(Clone, Copy)]
enum Limit {
    Lines(u64),
    Bytes(u64),
}

struct Opts {
    limit: Limit,
    seed: u64,
    format: Format,
    output: Option<String>,
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("gen_log: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        // `gen_log | head` is a normal way to look at the output.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_log: {e}");
            ExitCode::from(2)
        }
    }
}

/// Returns `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Opts>, String> {
    let mut limit = None;
    let mut seed = 1;
    let mut format = Format::Combined;
    let mut output = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--lines" => {
                let v = value("--lines")?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--lines: not a number: {v:?}"))?;
                limit = Some(Limit::Lines(n));
            }
            "--bytes" => limit = Some(Limit::Bytes(parse_size(&value("--bytes")?)?)),
            "--seed" => {
                let v = value("--seed")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v:?}"))?;
            }
            "--format" => {
                format = match value("--format")?.as_str() {
                    "combined" => Format::Combined,
                    "main" => Format::Main,
                    "realip" => Format::Realip,
                    other => return Err(format!("--format: unknown format {other:?}")),
                }
            }
            "-o" | "--output" => output = Some(value("-o")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let limit = limit.ok_or("one of --lines or --bytes is required")?;
    Ok(Some(Opts {
        limit,
        seed,
        format,
        output,
    }))
}

/// `4096`, `64K`, `100M`, `1G` (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("--bytes: not a size: {s:?} (examples: 4096, 64K, 100M, 1G)"))
}

fn run(opts: &Opts) -> io::Result<()> {
    let sink: Box<dyn Write> = match &opts.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    let mut gen = Generator::new(opts.seed, opts.format);
    let mut line = Vec::with_capacity(1024);
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let more = match opts.limit {
            Limit::Lines(n) => lines < n,
            Limit::Bytes(n) => bytes < n,
        };
        if !more {
            break;
        }
        line.clear();
        gen.line(&mut line);
        out.write_all(&line)?;
        lines += 1;
        bytes += line.len() as u64;
    }
    out.flush()
}

// ---------------------------------------------------------------------------------------------
// PRNG: xoshiro256** seeded by splitmix64 (both public domain, Blackman & Vigna).

struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
            spare_normal: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-40 for the small `n` used here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Uniform in `[0, 1)`, 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal by Box–Muller, keeping the second value for the next call.
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    fn exponential(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }

    /// A rank in `0..n` with P(rank) roughly proportional to 1/(rank+1): Zipf with s = 1.
    fn zipf(&mut self, n: usize) -> usize {
        let x = ((n as f64 + 1.0).ln() * self.unit()).exp() - 1.0;
        (x as usize).min(n - 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Static data.

/// The trusted load balancer IP, appended by GCP to X-Forwarded-For.
const LB_TRUSTED: &[u8] = b"34.120.5.6";
/// A second load balancer that nginx does not trust.
const LB_UNTRUSTED: &[u8] = b"34.149.9.9";
/// Values clients put in X-Forwarded-For themselves (GCP keeps and extends them).
const SPOOFED: &[&[u8]] = &[b"1.2.3.4", b"1.2.3.4", b"127.0.0.1", b"10.0.0.1"];

/// First octets of the IPv4 client pool: public, and outside the trusted ranges.
const V4_FIRST_OCTETS: &[u8] = &[
    24, 31, 37, 46, 62, 66, 71, 73, 77, 81, 82, 86, 88, 90, 92, 95, 98, 109, 151, 176, 178, 185,
    188, 193, 203, 213, 217,
];
/// Upper halves of IPv6 client prefixes (the rest is random).
const V6_PREFIXES: &[[u16; 2]] = &[
    [0x2001, 0x0db8],
    [0x2001, 0x0db8],
    [0x2a00, 0x1450],
    [0x2a01, 0x0e0a],
    [0x2a02, 0x8108],
    [0x2a03, 0x2880],
    [0x2600, 0x1700],
    [0x2406, 0xda00],
];

const USER_AGENTS: &[(u32, &[u8])] = &[
    (30, b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"),
    (14, b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15"),
    (16, b"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"),
    (12, b"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36"),
    (8, b"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"),
    (6, b"okhttp/4.12.0"),
    (4, b"curl/8.10.1"),
    (4, b"python-requests/2.32.3"),
    (3, b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (2, b"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    (1, b"Go-http-client/2.0"),
];

const REFERERS: &[&[u8]] = &[
    b"https://www.example.com/",
    b"https://www.example.com/account",
    b"https://www.example.com/orders",
    b"https://www.google.com/",
    b"https://duckduckgo.com/",
    b"https://t.co/x7Qz3k",
];

const SEARCH_WORDS: &[&[u8]] = &[
    b"shoes",
    b"red+shoes",
    b"laptop",
    b"usb-c",
    b"gift",
    b"caf%C3%A9",
    b"book",
    b"sale",
];

/// Build hashes of the deployed front end: a few deployments, so static paths repeat.
const BUILD_HASHES: &[&[u8]] = &[b"3f9a1c2e", b"b71d0e44", b"0c5e9f7a", b"e2a48d11"];

const PROBE_PATHS: &[&[u8]] = &[b"/favicon.ico", b"/robots.txt", b"/wp-login.php", b"/.env"];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// 2026-10-10T13:55:36Z.
const START_EPOCH: i64 = 1_791_640_536;
/// Mean gap between requests: 4 ms, about 250 requests per second.
const MEAN_GAP_US: f64 = 4_000.0;

// ---------------------------------------------------------------------------------------------
// The generator.

/// How the request reached nginx.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    TrustedLb,
    UntrustedLb,
    Direct,
    HealthCheck,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Api,
    Static,
    Page,
    HealthCheck,
}

struct Generator {
    rng: Rng,
    format: Format,
    v4_pool: Vec<Vec<u8>>,
    v6_pool: Vec<Vec<u8>>,
    ua_weights_total: u32,
    /// Microseconds since `START_EPOCH`.
    clock_us: u64,
    /// `$time_local` for `cached_second`.
    time_local: Vec<u8>,
    cached_second: i64,
    /// Scratch for the peer address of the current line.
    peer: Vec<u8>,
    /// Scratch for the fields after `combined`'s (see `line`).
    tail: Vec<u8>,
}

impl Generator {
    fn new(seed: u64, format: Format) -> Generator {
        let mut rng = Rng::new(seed);
        let v4_pool = (0..40_000)
            .map(|_| {
                let a = rng.pick(V4_FIRST_OCTETS);
                let (b, c, d) = (rng.below(256), rng.below(256), rng.range(1, 254));
                format!("{a}.{b}.{c}.{d}").into_bytes()
            })
            .collect();
        let v6_pool = (0..10_000)
            .map(|_| {
                let [p0, p1] = rng.pick(V6_PREFIXES);
                let mut seg = [p0, p1, rng.below(0x1_0000) as u16, 0, 0, 0, 0, 0];
                if rng.chance(0.5) {
                    // Privacy-extension style: random interface identifier.
                    for s in &mut seg[3..] {
                        *s = rng.below(0x1_0000) as u16;
                    }
                } else {
                    // Hand-numbered: mostly zeros, so the canonical form has a `::`.
                    seg[3] = rng.below(0x100) as u16;
                    seg[7] = rng.range(1, 0xffff) as u16;
                }
                // std's Display is RFC 5952 canonical, as nginx prints addresses.
                Ipv6Addr::from(seg).to_string().into_bytes()
            })
            .collect();
        Generator {
            rng,
            format,
            v4_pool,
            v6_pool,
            ua_weights_total: USER_AGENTS.iter().map(|(w, _)| w).sum(),
            clock_us: 0,
            time_local: Vec::with_capacity(32),
            cached_second: i64::MIN,
            peer: Vec::with_capacity(48),
            tail: Vec::with_capacity(256),
        }
    }

    /// Appends one complete line, newline included, to `buf`.
    fn line(&mut self, buf: &mut Vec<u8>) {
        let rng = &mut self.rng;
        self.clock_us += 1 + rng.exponential(MEAN_GAP_US) as u64;

        let path = match rng.below(1000) {
            0..850 => Path::TrustedLb,
            850..870 => Path::UntrustedLb,
            870..970 => Path::Direct,
            _ => Path::HealthCheck,
        };
        let client: &[u8] = if rng.chance(0.15) {
            &self.v6_pool[rng.zipf(self.v6_pool.len())]
        } else {
            &self.v4_pool[rng.zipf(self.v4_pool.len())]
        };
        self.peer.clear();
        if path == Path::Direct {
            self.peer.extend_from_slice(client);
        } else {
            push_google_front_end(rng, &mut self.peer);
        }
        let remote_addr: &[u8] = match path {
            Path::TrustedLb | Path::Direct => client,
            Path::UntrustedLb => LB_UNTRUSTED,
            Path::HealthCheck => &self.peer,
        };

        // $remote_addr - $remote_user [$time_local]
        buf.extend_from_slice(remote_addr);
        buf.extend_from_slice(b" - - [");
        let second = START_EPOCH + (self.clock_us / 1_000_000) as i64;
        if second != self.cached_second {
            self.cached_second = second;
            self.time_local.clear();
            push_time_local(&mut self.time_local, second);
        }
        buf.extend_from_slice(&self.time_local);
        buf.extend_from_slice(b"] \"");

        // "$request" $status $body_bytes_sent
        let (route, method, status) = push_request(rng, buf, path);
        buf.extend_from_slice(b"\" ");
        push_u64(buf, u64::from(status));
        buf.push(b' ');
        push_u64(buf, body_bytes(rng, route, status));

        // "$http_referer" "$http_user_agent"
        buf.extend_from_slice(b" \"");
        if route == Route::HealthCheck || rng.chance(0.55) {
            buf.push(b'-');
        } else {
            buf.extend_from_slice(rng.pick(REFERERS));
        }
        buf.extend_from_slice(b"\" \"");
        if route == Route::HealthCheck {
            buf.extend_from_slice(b"GoogleHC/1.0");
        } else {
            let mut w = rng.below(u64::from(self.ua_weights_total)) as u32;
            for &(weight, ua) in USER_AGENTS {
                if w < weight {
                    buf.extend_from_slice(ua);
                    break;
                }
                w -= weight;
            }
        }
        buf.push(b'"');

        // The fields beyond `combined` are always generated, so that one seed describes the
        // same traffic in every format; the format only decides how much of them is printed.
        let tail = &mut self.tail;
        tail.clear();
        // "$http_x_forwarded_for": GCP appends ",<lb ip>" without a space; what the client sent
        // (if anything) comes first, joined with ", ".
        tail.extend_from_slice(b" \"");
        match path {
            Path::Direct | Path::HealthCheck => tail.push(b'-'),
            Path::TrustedLb | Path::UntrustedLb => {
                if path == Path::TrustedLb && rng.chance(0.05) {
                    tail.extend_from_slice(rng.pick(SPOOFED));
                    tail.extend_from_slice(b", ");
                }
                tail.extend_from_slice(client);
                tail.push(b',');
                tail.extend_from_slice(if path == Path::TrustedLb {
                    LB_TRUSTED
                } else {
                    LB_UNTRUSTED
                });
            }
        }
        tail.push(b'"');
        let main_end = tail.len();
        // $realip_remote_addr $request_time $upstream_response_time
        tail.push(b' ');
        tail.extend_from_slice(&self.peer);
        tail.push(b' ');
        let request_ms = request_ms(rng, route, status);
        push_seconds(tail, request_ms);
        tail.push(b' ');
        push_upstream(rng, tail, route, method, status, request_ms);

        match self.format {
            Format::Combined => {}
            Format::Main => buf.extend_from_slice(&tail[..main_end]),
            Format::Realip => buf.extend_from_slice(tail),
        }
        buf.push(b'\n');
    }
}

/// A Google front end address: 35.191.0.0/16 or 130.211.0.0/22.
fn push_google_front_end(rng: &mut Rng, buf: &mut Vec<u8>) {
    if rng.chance(0.7) {
        buf.extend_from_slice(b"35.191.");
        push_u64(buf, rng.below(256));
    } else {
        buf.extend_from_slice(b"130.211.");
        push_u64(buf, rng.below(4));
    }
    buf.push(b'.');
    push_u64(buf, rng.range(1, 254));
}

/// Writes `METHOD /path HTTP/x` and returns the route kind, method and status.
fn push_request(rng: &mut Rng, buf: &mut Vec<u8>, path: Path) -> (Route, &'static [u8], u16) {
    if path == Path::HealthCheck {
        buf.extend_from_slice(b"GET /healthz HTTP/1.1");
        return (Route::HealthCheck, b"GET", 200);
    }
    let status_roll = rng.below(1000);
    let r = rng.below(100);
    let (route, method): (Route, &'static [u8]) = match r {
        0..35 => {
            let method: &'static [u8] = match rng.below(100) {
                0..80 => b"GET",
                80..95 => b"PUT",
                _ => b"DELETE",
            };
            buf.extend_from_slice(method);
            buf.extend_from_slice(b" /api/v1/users/");
            push_u64(buf, 1 + rng.zipf(200_000) as u64);
            if method == b"GET" && rng.chance(0.2) {
                buf.extend_from_slice(b"?fields=name,email");
            }
            (Route::Api, method)
        }
        35..55 => {
            let method: &'static [u8] = match rng.below(100) {
                0..70 => b"GET",
                70..90 => b"PUT",
                _ => b"DELETE",
            };
            buf.extend_from_slice(method);
            buf.extend_from_slice(b" /api/v1/orders/");
            push_uuid(rng, buf);
            (Route::Api, method)
        }
        55..63 => {
            if rng.chance(0.5) {
                buf.extend_from_slice(b"POST /api/v1/orders");
                (Route::Api, b"POST")
            } else {
                buf.extend_from_slice(b"GET /api/v1/orders?page=");
                push_u64(buf, 1 + rng.zipf(50) as u64);
                buf.extend_from_slice(b"&limit=50");
                (Route::Api, b"GET")
            }
        }
        63..83 => {
            buf.extend_from_slice(b"GET /static/");
            let (name, ext): (&[u8], &[u8]) = match rng.below(3) {
                0 => (b"app.", b".js"),
                1 => (b"vendor.", b".js"),
                _ => (b"app.", b".css"),
            };
            buf.extend_from_slice(name);
            buf.extend_from_slice(rng.pick(BUILD_HASHES));
            buf.extend_from_slice(ext);
            (Route::Static, b"GET")
        }
        83..93 => {
            buf.extend_from_slice(b"GET /");
            if rng.chance(0.1) {
                buf.extend_from_slice(b"?utm_source=newsletter&utm_campaign=oct");
            }
            (Route::Page, b"GET")
        }
        93..97 => {
            buf.extend_from_slice(b"GET /search?q=");
            buf.extend_from_slice(rng.pick(SEARCH_WORDS));
            buf.extend_from_slice(b"&page=");
            push_u64(buf, 1 + rng.zipf(10) as u64);
            (Route::Page, b"GET")
        }
        _ => {
            buf.extend_from_slice(b"GET ");
            buf.extend_from_slice(rng.pick(PROBE_PATHS));
            (Route::Static, b"GET")
        }
    };
    buf.extend_from_slice(match rng.below(100) {
        0..70 => b" HTTP/1.1",
        70..98 => b" HTTP/2.0",
        _ => b" HTTP/1.0",
    });
    // 2xx 88 %, 3xx 4 %, 4xx 6 % (of which 499 0.5 % of all), 5xx 2 %.
    let status = match status_roll {
        0..880 => match (route, method) {
            (Route::Api, b"POST") => 201,
            (Route::Api, b"DELETE") => 204,
            _ => 200,
        },
        880..920 if route == Route::Static => 304,
        880..920 => rng.pick(&[301, 302, 302, 304]),
        920..975 => rng.pick(&[400, 401, 403, 404, 404, 404, 404, 404, 429, 422, 405]),
        975..980 => 499,
        980..988 => 500,
        988..994 => 502,
        994..997 => 503,
        _ => 504,
    };
    (route, method, status)
}

fn body_bytes(rng: &mut Rng, route: Route, status: u16) -> u64 {
    match (route, status) {
        (Route::HealthCheck, _) => 2,
        (_, 204 | 304 | 499) => 0,
        (_, 301 | 302) => 169,
        (Route::Static, 200) => rng.lognormal(90_000.0, 0.8) as u64,
        (Route::Page, 200) => rng.lognormal(24_000.0, 0.3) as u64,
        (_, 200..=299) => rng.lognormal(800.0, 1.0) as u64 + 2,
        (_, 400..=499) => rng.range(60, 600),
        _ => rng.range(150, 600),
    }
}

/// `$request_time` in milliseconds.
fn request_ms(rng: &mut Rng, route: Route, status: u16) -> u64 {
    let seconds = match (route, status) {
        (Route::HealthCheck, _) => rng.below(2) as f64 / 1000.0,
        // The upstream timed out (proxy_read_timeout 60s).
        (_, 504) => 60.0 + rng.unit() * 0.01,
        // Clients that gave up waiting.
        (_, 499) => rng.lognormal(2.0, 1.0),
        (Route::Static, _) => rng.lognormal(0.001, 0.8),
        _ => rng.lognormal(0.030, 1.1),
    };
    (seconds * 1000.0).round().min(120_000.0) as u64
}

/// `$upstream_response_time`: `-` when nginx served the request itself or the client left,
/// otherwise a bit less than `$request_time`, sometimes two attempts.
fn push_upstream(
    rng: &mut Rng,
    buf: &mut Vec<u8>,
    route: Route,
    method: &[u8],
    status: u16,
    request_ms: u64,
) {
    if matches!(route, Route::HealthCheck | Route::Static) || status == 499 {
        buf.push(b'-');
        return;
    }
    let upstream = request_ms.saturating_sub(rng.below(3));
    let retry_p = if matches!(status, 502 | 504) {
        0.3
    } else {
        0.01
    };
    if method != b"POST" && upstream >= 2 && rng.chance(retry_p) {
        let first = rng.range(1, upstream - 1);
        push_seconds(buf, first);
        buf.extend_from_slice(b", ");
        push_seconds(buf, upstream - first);
    } else {
        push_seconds(buf, upstream);
    }
}

fn push_uuid(rng: &mut Rng, buf: &mut Vec<u8>) {
    let mut x = rng.next_u64();
    let mut y = rng.next_u64();
    for (i, &len) in [8, 4, 4, 4, 12].iter().enumerate() {
        if i > 0 {
            buf.push(b'-');
        }
        for _ in 0..len {
            buf.push(b"0123456789abcdef"[(x & 0xf) as usize]);
            x = (x >> 4) | (y << 60);
            y >>= 4;
        }
    }
}

/// Milliseconds as nginx prints durations: `0.030`, `12.345`.
fn push_seconds(buf: &mut Vec<u8>, ms: u64) {
    push_u64(buf, ms / 1000);
    let frac = ms % 1000;
    buf.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// nginx's `$time_local` for a UTC offset of zero: `10/Oct/2026:13:55:36 +0000`.
fn push_time_local(buf: &mut Vec<u8>, epoch: i64) {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut s = String::with_capacity(32);
    // Called once per simulated second, not per line.
    let _ = write!(
        s,
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    buf.extend_from_slice(s.as_bytes());
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
