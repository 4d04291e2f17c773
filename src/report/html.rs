//! `--output html`: one self-contained page to look at and share.
//!
//! Owns: the page. Charts are SVG drawn by the `plotters` crate at render time (requests and
//! status classes over time, p50/p90/p99 over time, the latency distribution on a log scale,
//! misresolved requests over time); tables are plain HTML; one small inline script sorts the
//! top-routes table from the report data.
//!
//! Everything from a log is attacker-controlled, so every string is escaped for where it
//! lands: [`text`] for HTML text and quoted attribute values; the data the script reads is
//! JSON in a `<script type="application/json">` block with `<`, `>`, `&`, U+2028 and U+2029
//! written as `\uXXXX` ([`json_for_script`]), never spliced into code; chart labels are
//! numbers and times only (plotters escapes its SVG text too). The page's
//! Content-Security-Policy allows only its own inline style and script, by SHA-256 hash, and
//! nothing from the network (`default-src 'none'`).

use std::fmt::Write;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordi64;
use plotters::prelude::*;
use sha2::{Digest, Sha256};

use super::model::ScanReport;
use super::text::{duration, thousands, utc, verdict};
use crate::audit::AuditView;
use crate::summary::{SeriesView, SummaryView};

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls (other than tab and newline) have no business in a page.
            c if c.is_control() && c != '\t' && c != '\n' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// JSON made safe inside `<script type="application/json">`: no `</script>`, no `<!--`, no
/// line separators that older parsers treat as line ends.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn sha256_source(s: &str) -> String {
    format!("'sha256-{}'", BASE64.encode(Sha256::digest(s.as_bytes())))
}

const STYLE: &str = "
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#fff;--accent:#2457c5;--bad:#b3261e;--ok:#1e7b34}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.muted{color:var(--muted)}
.verdict{padding:.7em 1em;border-radius:6px;border:1px solid var(--line)}
.verdict.bad{border-color:var(--bad);color:var(--bad)}
.verdict.ok{border-color:var(--ok);color:var(--ok)}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid var(--line);border-radius:6px;padding:.4em .8em;min-width:8em}
.card b{display:block;font-size:1.2em}
figure{margin:0 0 1em}
figure svg{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.9em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.25em .5em;border-bottom:1px solid var(--line);white-space:nowrap}
th{text-align:left;background:#f4f6f9}
td.num,th.num{text-align:right}
td.key{max-width:28em;overflow:hidden;text-overflow:ellipsis;word-break:break-all}
th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;cursor:pointer;color:inherit}
pre{background:#f4f6f9;padding:.6em;border-radius:6px;overflow-x:auto}
@media (max-width:600px){body{font-size:14px}main{padding:8px}}
@media print{th button{cursor:auto}h2{break-after:avoid}figure,table{break-inside:avoid}.scroll{overflow:visible}}
";

/// Sorts the top-routes table by a column, using the values in the JSON data block.
const SCRIPT: &str = r#"
(function(){
  var el = document.getElementById('realip-data');
  var table = document.getElementById('groups');
  if (!el || !table) return;
  var data = JSON.parse(el.textContent);
  var groups = (data.summary && data.summary.groups) || [];
  var body = table.tBodies[0];
  var dir = {};
  var value = function(g, col) {
    if (col === 'key') return g.key;
    if (col === 'requests') return g.requests;
    if (col.indexOf('status_') === 0) return g.status_class[col.slice(7)];
    var v = g.request_time[col];
    return v === null || v === undefined ? -1 : v;
  };
  Array.prototype.forEach.call(table.querySelectorAll('th button'), function(b){
    b.addEventListener('click', function(){
      var col = b.getAttribute('data-col');
      dir[col] = dir[col] === 'desc' ? 'asc' : 'desc';
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(x, y){
        var a = value(groups[+x.getAttribute('data-i')], col);
        var c = value(groups[+y.getAttribute('data-i')], col);
        var r = a < c ? -1 : a > c ? 1 : 0;
        return dir[col] === 'desc' ? -r : r;
      });
      rows.forEach(function(r){ body.appendChild(r); });
      table.setAttribute('data-sorted', col + ' ' + dir[col]);
    });
  });
  table.setAttribute('data-ready', 'yes');
})();
"#;

fn secs(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// A time axis label: the time of day, or the date for day buckets.
fn time_label(t: i64, width: u64) -> String {
    let full = utc(t);
    if width >= 86_400 {
        full[..10].to_string()
    } else {
        full[11..16].to_string()
    }
}

fn chart_err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// One status class's count in a bucket.
type ClassCount = fn(&crate::summary::StatusClassView) -> u64;

const W: u32 = 960;
const H: u32 = 300;

/// A chart with time (epoch seconds, the series' buckets) across and `Y` up.
type TimeChart<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordi64, Y>>;

/// One time-series chart as SVG, `height` pixels high: a white page, the series' time range
/// across with time-of-day (or date) labels, `y` up described by `desc`; `draw` adds the
/// series, then the legend is drawn if asked. Every chart over time shares these axes.
fn time_chart<Y, F>(
    s: &SeriesView,
    height: u32,
    y: Y,
    desc: &str,
    legend: Legend,
    draw: F,
) -> Result<String, String>
where
    Y: AsRangedCoord,
    Y::CoordDescType: ValueFormatter<<Y::CoordDescType as Ranged>::ValueType>,
    F: FnOnce(&mut TimeChart<'_, '_, Y::CoordDescType>) -> Result<(), String>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let (x0, x1) = x_range(s);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y)
            .map_err(chart_err)?;
        let width = s.bucket_seconds;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|t| time_label(*t, width))
            .y_desc(desc)
            .draw()
            .map_err(chart_err)?;
        draw(&mut chart)?;
        if legend == Legend::Shown {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// A count axis from 0 to a tenth above `max` (at least 1).
fn count_axis(max: u64) -> std::ops::Range<u64> {
    let max = max.max(1);
    0..max + max / 10 + 1
}

/// Whether a chart draws the legend box naming its labelled series (upper left).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Legend {
    Shown,
    Hidden,
}

fn requests_chart(s: &SeriesView) -> Result<String, String> {
    let ymax = s.points.iter().map(|p| p.requests).max().unwrap_or(0);
    time_chart(s, H, count_axis(ymax), "requests", Legend::Shown, |chart| {
        let classes: [(&str, RGBColor, ClassCount); 4] = [
            ("2xx", RGBColor(46, 125, 50), |c| c.c2xx),
            ("3xx", RGBColor(36, 87, 197), |c| c.c3xx),
            ("4xx", RGBColor(237, 160, 0), |c| c.c4xx),
            ("5xx", RGBColor(179, 38, 30), |c| c.c5xx),
        ];
        // Stacked: each class is drawn on top of the ones before it, the highest first so
        // that lower ones paint over it.
        let mut stacks: Vec<Vec<(i64, u64)>> = Vec::new();
        let mut base = vec![0u64; s.points.len()];
        for (_, _, f) in &classes {
            let mut layer = Vec::with_capacity(s.points.len());
            for (i, p) in s.points.iter().enumerate() {
                base[i] += f(&p.status_class);
                layer.push((p.start, base[i]));
            }
            stacks.push(layer);
        }
        for ((name, color, _), layer) in classes.iter().zip(&stacks).rev() {
            let c = *color;
            chart
                .draw_series(AreaSeries::new(layer.clone(), 0, c.mix(0.75)).border_style(c))
                .map_err(chart_err)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        Ok(())
    })
}

fn x_range(s: &SeriesView) -> (i64, i64) {
    let first = s.points.first().map_or(0, |p| p.start);
    let last = s.points.last().map_or(0, |p| p.start);
    let w = i64::try_from(s.bucket_seconds).unwrap_or(60);
    (first, last.max(first) + w)
}

fn latency_chart(s: &SeriesView) -> Result<String, String> {
    let ymax = s
        .points
        .iter()
        .filter_map(|p| p.request_time.percentiles.last().and_then(|(_, v)| *v))
        .fold(0.0f64, f64::max);
    let ymax = if ymax > 0.0 { ymax * 1.1 } else { 1.0 };
    time_chart(s, H, 0f64..ymax, "seconds", Legend::Shown, |chart| {
        let colors = [
            RGBColor(46, 125, 50),
            RGBColor(237, 160, 0),
            RGBColor(179, 38, 30),
        ];
        let names = ["p50", "p90", "p99"];
        for (i, (name, color)) in names.iter().zip(colors).enumerate() {
            // One line per run of buckets that have requests: empty buckets leave a gap.
            let mut runs: Vec<Vec<(i64, f64)>> = vec![Vec::new()];
            for p in &s.points {
                match p.request_time.percentiles.get(i).and_then(|(_, v)| *v) {
                    Some(v) => {
                        if let Some(run) = runs.last_mut() {
                            run.push((p.start, v));
                        }
                    }
                    None => runs.push(Vec::new()),
                }
            }
            let mut first = true;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let single = run.len() == 1;
                let series = chart
                    .draw_series(LineSeries::new(run.clone(), color.stroke_width(2)))
                    .map_err(chart_err)?;
                if first {
                    series.label(*name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                    });
                    first = false;
                }
                if single {
                    chart
                        .draw_series(
                            run.iter()
                                .map(|&(x, y)| Circle::new((x, y), 2, color.filled())),
                        )
                        .map_err(chart_err)?;
                }
            }
        }
        Ok(())
    })
}

fn misresolved_chart(s: &SeriesView) -> Result<String, String> {
    let ymax = s.points.iter().map(|p| p.misresolved).max().unwrap_or(0);
    time_chart(
        s,
        220,
        count_axis(ymax),
        "misresolved",
        Legend::Hidden,
        |chart| {
            let red = RGBColor(179, 38, 30);
            chart
                .draw_series(
                    AreaSeries::new(
                        s.points.iter().map(|p| (p.start, p.misresolved)),
                        0,
                        red.mix(0.5),
                    )
                    .border_style(red),
                )
                .map_err(chart_err)?;
            Ok(())
        },
    )
}

fn distribution_chart(bins: &[(f64, f64, u64)]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let lo = 1e-5f64;
        let hi = bins.last().map_or(1.0, |b| b.1).max(1e-3);
        let ymax = bins.iter().map(|b| b.2).max().unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), count_axis(ymax))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("request_time, seconds (log scale)")
            .y_desc("requests")
            .x_label_formatter(&|v| {
                if *v >= 1.0 {
                    format!("{v:.0}s")
                } else {
                    format!("{}ms", (v * 1000.0 * 100.0).round() / 100.0)
                }
            })
            .draw()
            .map_err(chart_err)?;
        let blue = RGBColor(36, 87, 197);
        chart
            .draw_series(
                bins.iter().filter(|b| b.2 > 0).map(|&(l, h, n)| {
                    Rectangle::new([(l.max(lo), 0), (h, n)], blue.mix(0.7).filled())
                }),
            )
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

fn figure(out: &mut String, id: &str, caption: &str, svg: Result<String, String>) {
    match svg {
        Ok(svg) => {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" id=\"{id}\">{svg}<figcaption>{}</figcaption></figure>",
                text(caption)
            );
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"muted\">chart {} could not be drawn: {}</p>",
                text(id),
                text(&e)
            );
        }
    }
}

fn write_audit(out: &mut String, a: &AuditView) {
    let bad = a.misresolved > 0;
    let _ = writeln!(
        out,
        "<p class=\"verdict {}\" id=\"verdict\">{}</p>",
        if bad { "bad" } else { "ok" },
        text(&verdict(a))
    );
    if !a.unresolved_lb_ips.is_empty() {
        out.push_str(
            "<h3>Forgotten load-balancer IPs</h3>\n<div class=\"scroll\"><table id=\"lb-ips\">\
             <thead><tr><th>LB IP</th><th class=\"num\">requests</th><th class=\"num\">share</th>\
             <th>first seen</th><th>last seen</th><th>first line</th></tr></thead><tbody>\n",
        );
        for l in &a.unresolved_lb_ips {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}%</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                text(&l.ip),
                thousands(l.lines),
                l.share * 100.0,
                l.first_time.map(utc).unwrap_or_default(),
                l.last_time.map(utc).unwrap_or_default(),
                text(&l.first)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    if !a.suggested_set_real_ip_from.is_empty() {
        out.push_str("<h3>The fix</h3>\n<pre id=\"fix\">");
        for ip in &a.suggested_set_real_ip_from {
            let _ = writeln!(out, "set_real_ip_from {};", text(ip));
        }
        out.push_str("</pre>\n");
    }
    let trust = if a.trust.is_empty() {
        "(none)".to_string()
    } else {
        a.trust.join(", ")
    };
    let _ = writeln!(
        out,
        "<p class=\"muted\">checked against: real_ip_header {}; real_ip_recursive {}; \
         set_real_ip_from {}</p>",
        text(&a.header),
        if a.recursive { "on" } else { "off" },
        text(&trust)
    );
    if !a.findings.is_empty() {
        out.push_str(
            "<div class=\"scroll\"><table id=\"findings\"><thead><tr><th>finding</th>\
             <th class=\"num\">requests</th><th>first seen</th><th>last seen</th><th>meaning</th>\
             </tr></thead><tbody>\n",
        );
        for f in &a.findings {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(f.kind),
                thousands(f.count),
                f.first_time.map(utc).unwrap_or_default(),
                f.last_time.map(utc).unwrap_or_default(),
                text(f.description)
            );
        }
        out.push_str("</tbody></table></div>\n");
        if let Some(spoof) = a.findings.iter().find(|f| !f.top.is_empty()) {
            out.push_str("<p>Most spoofed values: ");
            let top: Vec<String> = spoof
                .top
                .iter()
                .take(5)
                .map(|(v, n)| format!("<code>{}</code> ({})", text(v), thousands(*n)))
                .collect();
            out.push_str(&top.join(", "));
            out.push_str("</p>\n");
        }
    }
}

fn write_groups(out: &mut String, s: &SummaryView) {
    let Some(by) = s.group_by.clone() else {
        return;
    };
    let _ = writeln!(out, "<h2>Top {} by {}</h2>", s.groups.len(), text(&by));
    if s.groups.is_empty() {
        out.push_str("<p class=\"muted\">no requests</p>\n");
        return;
    }
    let pcts: Vec<&String> = s
        .groups
        .first()
        .map(|g| g.request_time.percentiles.iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    out.push_str("<div class=\"scroll\"><table id=\"groups\"><thead><tr>");
    let _ = write!(
        out,
        "<th><button type=\"button\" data-col=\"key\">{}</button></th>",
        text(&by)
    );
    let mut cols: Vec<(String, String)> = vec![("requests".into(), "requests".into())];
    for c in ["2xx", "3xx", "4xx", "5xx"] {
        cols.push((format!("status_{c}"), c.to_string()));
    }
    for k in &pcts {
        cols.push(((*k).clone(), (*k).clone()));
    }
    cols.push(("max".into(), "max".into()));
    for (col, label) in &cols {
        let _ = write!(
            out,
            "<th class=\"num\"><button type=\"button\" data-col=\"{}\">{}</button></th>",
            text(col),
            text(label)
        );
    }
    out.push_str("</tr></thead><tbody>\n");
    for (i, g) in s.groups.iter().enumerate() {
        let c = g.status_class;
        let _ = write!(
            out,
            "<tr data-i=\"{i}\"><td class=\"key\" title=\"{}\">{}</td><td class=\"num\">{}</td>",
            text(&g.key),
            text(&g.key),
            thousands(g.requests)
        );
        for n in [c.c2xx, c.c3xx, c.c4xx, c.c5xx] {
            let _ = write!(out, "<td class=\"num\">{}</td>", thousands(n));
        }
        for (_, v) in &g.request_time.percentiles {
            let _ = write!(out, "<td class=\"num\">{}</td>", secs(*v));
        }
        let _ = writeln!(
            out,
            "<td class=\"num\">{}</td></tr>",
            secs(g.request_time.max)
        );
    }
    out.push_str("</tbody></table></div>\n");
    if s.groups_in_others > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">others: {} more keys</p>",
            thousands(s.groups_in_others)
        );
    }
}

/// The whole page.
pub fn render(r: &ScanReport) -> String {
    let mut body = String::new();
    body.push_str("<main>\n<h1>realip report</h1>\n");
    write_overview(&mut body, r);
    write_audit_section(&mut body, r);
    if let Some(s) = &r.summary {
        write_traffic(&mut body, s);
    }
    body.push_str("</main>\n");
    page(r, &body)
}

/// The inputs line, the cards of counts and the errors.
fn write_overview(body: &mut String, r: &ScanReport) {
    let inputs: Vec<String> = r.inputs.iter().map(|i| text(i)).collect();
    let _ = writeln!(
        body,
        "<p class=\"muted\" id=\"inputs\">{} &middot; format {} &middot; made {}</p>",
        inputs.join(", "),
        text(&r.format),
        utc(i64::try_from(r.epoch).unwrap_or(0))
    );
    body.push_str("<div class=\"cards\">");
    let mut card = |name: &str, v: String| {
        let _ = write!(body, "<div class=\"card\">{name}<b>{v}</b></div>");
    };
    card("lines", thousands(r.lines));
    card("parsed", thousands(r.parsed));
    card("malformed", thousands(r.malformed));
    if r.filtered > 0 {
        card("filtered", thousands(r.filtered));
    }
    if let Some(s) = &r.summary {
        card("requests", thousands(s.requests));
        for (k, v) in &s.request_time.percentiles {
            if k == "p50" || k == "p99" {
                card(&format!("{k} request_time"), format!("{}s", secs(*v)));
            }
        }
    }
    body.push_str("</div>\n");
    for e in &r.errors {
        let _ = writeln!(body, "<p class=\"verdict bad\">error: {}</p>", text(e));
    }
}

/// The audit section (or why there is none), with the misresolved-per-bucket chart.
fn write_audit_section(body: &mut String, r: &ScanReport) {
    body.push_str("<h2>Audit</h2>\n");
    match (&r.audit, &r.audit_note) {
        (Some(a), _) => write_audit(body, a),
        (None, Some(note)) => {
            let _ = writeln!(body, "<p class=\"muted\">{}</p>", text(note));
        }
        (None, None) => body.push_str("<p class=\"muted\">no audit</p>\n"),
    }
    let series = r.summary.as_ref().and_then(|s| s.series.as_ref());
    if let (Some(s), Some(_)) = (series, &r.audit) {
        if !s.points.is_empty() {
            figure(
                body,
                "chart-misresolved",
                &format!("misresolved requests per {}", duration(s.bucket_seconds)),
                misresolved_chart(s),
            );
        }
    }
}

/// The summary's sections: traffic over time, the latency distribution and the groups.
fn write_traffic(body: &mut String, s: &SummaryView) {
    body.push_str("<h2>Traffic over time</h2>\n");
    match &s.series {
        Some(series) if !series.points.is_empty() => {
            let every = duration(series.bucket_seconds);
            figure(
                body,
                "chart-requests",
                &format!("requests per {every} by status class (stacked), UTC"),
                requests_chart(series),
            );
            figure(
                body,
                "chart-latency",
                &format!("request_time p50, p90 and p99 per {every}, UTC"),
                latency_chart(series),
            );
        }
        Some(_) => body.push_str("<p class=\"muted\">no request with a time</p>\n"),
        None => body.push_str(
            "<p class=\"muted\">no time series: scan with --bucket (e.g. --bucket 5m)</p>\n",
        ),
    }
    body.push_str("<h2>Latency distribution</h2>\n");
    if s.request_time_bins.is_empty() {
        body.push_str("<p class=\"muted\">no $request_time in the log</p>\n");
    } else {
        figure(
            body,
            "chart-distribution",
            "requests by request_time, four bins per decade",
            distribution_chart(&s.request_time_bins),
        );
    }
    write_groups(body, s);
    let _ = writeln!(
        body,
        "<p class=\"muted\">{}</p>",
        text(s.percentile_definition)
    );
}

/// The HTML document around `body`: head with its content security policy and style, the
/// report as JSON for the script, and the script.
fn page(r: &ScanReport, body: &str) -> String {
    let data = json_for_script(
        &crate::escape::json_compact(&super::json::to_value(r)).unwrap_or_else(|_| "{}".into()),
    );
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; \
         form-action 'none'",
        sha256_source(STYLE),
        sha256_source(SCRIPT)
    );
    let mut page = String::with_capacity(body.len() + data.len() + 4096);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        page,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        text(&csp)
    );
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    page.push_str("<title>realip report</title>\n");
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");
    page.push_str(body);
    let _ = writeln!(
        page,
        "<script type=\"application/json\" id=\"realip-data\">{data}</script>"
    );
    let _ = writeln!(page, "<script>{SCRIPT}</script>\n</body>\n</html>");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_quotes() {
        assert_eq!(
            text("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(text("a\u{1b}b"), "a\\u{1b}b");
    }

    #[test]
    fn json_cannot_close_its_script() {
        let j = json_for_script(r#"{"k":"</script><!-- & \u{2028}"}"#);
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('&'));
        assert!(j.contains("\\u003c/script\\u003e"));
    }
}
