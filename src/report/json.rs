//! The JSON contract of `realip scan --output json`.
//!
//! Owns: key names and nesting. Keys are only ever added, never renamed or removed:
//! `lines`, `parsed`, `malformed{count,samples[{path,line,reason}]}`, `summary{requests,
//! status, status_class, request_time, upstream_response_time, groups[…]}`. Times are seconds
//! as numbers; statistics of an empty distribution are `null`. String escaping is serde's.

use serde_json::{json, Map, Value};

use super::model::ScanReport;
use crate::audit::AuditView;
use crate::summary::{LatencyView, SeriesView, SummaryView};

fn latency(l: &LatencyView) -> Value {
    let mut m = Map::new();
    m.insert("count".into(), json!(l.count));
    m.insert("min".into(), json!(l.min));
    m.insert("mean".into(), json!(l.mean));
    m.insert("max".into(), json!(l.max));
    for (k, v) in &l.percentiles {
        m.insert(k.clone(), json!(v));
    }
    m.insert("sum".into(), json!(l.sum));
    m.insert("clamped".into(), json!(l.clamped));
    Value::Object(m)
}

fn series(s: &SeriesView, audited: bool) -> Value {
    s.points
        .iter()
        .map(|p| {
            let mut rt = Map::new();
            for (k, v) in &p.request_time.percentiles {
                rt.insert(k.clone(), json!(v));
            }
            rt.insert("max".into(), json!(p.request_time.max));
            json!({
                "start": super::text::utc(p.start),
                "requests": p.requests,
                "status_class": p.status_class,
                "request_time": rt,
                "misresolved": if audited { json!(p.misresolved) } else { Value::Null },
            })
        })
        .collect()
}

fn summary(s: &SummaryView, audited: bool) -> Value {
    let status: Map<String, Value> = s
        .status
        .iter()
        .map(|(k, n)| (k.clone(), json!(n)))
        .collect();
    let groups: Vec<Value> = s
        .groups
        .iter()
        .map(|g| {
            let mut v = json!({
                "key": g.key,
                "requests": g.requests,
                "status_class": g.status_class,
                "request_time": latency(&g.request_time),
            });
            // Several --group-by keys: {name: value} per group.
            if let (Some(by), false) = (&s.group_by, g.keys.is_empty()) {
                let keys: serde_json::Map<String, Value> = by
                    .split(',')
                    .zip(&g.keys)
                    .map(|(name, value)| (name.to_string(), json!(value)))
                    .collect();
                v["keys"] = Value::Object(keys);
            }
            v
        })
        .collect();
    let mut v = json!({
        "requests": s.requests,
        "bytes": s.bytes,
        "status": status,
        "status_class": s.status_class,
        "request_time": latency(&s.request_time),
        "upstream_response_time": latency(&s.upstream_response_time),
        "upstream_tries": s.upstream_tries,
        "group_by": s.group_by,
        "groups": groups,
        "groups_in_others": s.groups_in_others,
        "groups_approximate": s.groups_approximate,
        "max_error": s.max_error,
        "percentile_definition": s.percentile_definition,
    });
    if let Some(sr) = &s.series {
        v["series"] = series(sr, audited);
        v["bucket_seconds"] = json!(sr.bucket_seconds);
        v["untimed"] = json!(sr.untimed);
    }
    v
}

fn time(t: Option<i64>) -> Value {
    json!(t.map(crate::timefmt::utc))
}

fn lb_ips(list: &[crate::audit::LbIpView]) -> Vec<Value> {
    list.iter()
        .map(|l| {
            let mut v = json!({
                "ip": l.ip, "lines": l.lines, "share": l.share, "first": l.first,
                "first_time": time(l.first_time), "last_time": time(l.last_time),
                "samples": l.samples, "declared": l.declared,
            });
            // Only with --lb-ips-from: the forwarding rules whose address it is.
            if !l.rules.is_empty() {
                v["rules"] = json!(l.rules);
            }
            v
        })
        .collect()
}

fn audit(a: &AuditView) -> Value {
    let findings: Vec<Value> = a
        .findings
        .iter()
        .map(|f| {
            let mut m = json!({
                "kind": f.kind, "count": f.count, "share": f.share, "samples": f.samples,
                "first_time": time(f.first_time), "last_time": time(f.last_time),
                "description": f.description, "misresolution": f.misresolution,
            });
            if !f.top.is_empty() {
                m["top"] = f
                    .top
                    .iter()
                    .map(|(v, n)| json!({"value": v, "count": n}))
                    .collect();
            }
            if let Some(d) = f.direction {
                m["direction"] = json!(d);
                m["message"] = json!(super::text::drift_message(f, &|n| n.to_string()));
                m["addresses"] = f
                    .addresses
                    .iter()
                    .map(|(a, n)| json!({"address": a, "lines": n}))
                    .collect();
            }
            m
        })
        .collect();
    let misresolutions: Vec<Value> = a
        .misresolutions
        .iter()
        .map(|m| {
            let mut v = json!({
                "kind": m.kind, "address": m.address, "lines": m.lines,
                "declared": m.declared, "fix": m.fix,
            });
            if !m.rules.is_empty() {
                v["rules"] = json!(m.rules);
            }
            v
        })
        .collect();
    json!({
        "checked": a.checked,
        "misresolved": a.misresolved,
        "verdict": super::text::verdict(a),
        "trust_source": a.trust_source,
        "unresolved_lb_ips": lb_ips(&a.unresolved_lb_ips),
        "trusted_lb_ips": lb_ips(&a.trusted_lb_ips),
        "misresolutions": misresolutions,
        "suggested_set_real_ip_from": a.suggested_set_real_ip_from,
        "fixes": a.fixes,
        "findings": findings,
        "no_client": a.no_client,
        "header": a.header,
        "recursive": a.recursive,
        "recursion_seen": a.recursion_seen,
        "recursion_unknown": a.recursion_unknown,
        "trust": a.trust,
        "nginx_trusts": {
            "lb_ips": a.trusted_lb_ips.iter().map(|l| l.ip.clone()).collect::<Vec<_>>(),
            "front_ends": a.front_ends,
            "front_end_lines": a.front_end_lines,
            "peers": a.trusted_peers.iter().map(|(p, n)| json!({"address": p, "lines": n})).collect::<Vec<_>>(),
            "sentence": super::text::trust_sentence(a),
        },
        "peer_logged": a.peer_logged,
        "undecidable": if a.peer_logged {
            json!([])
        } else {
            json!(["untrusted_peer", "config_drift"])
        },
    })
}

/// The report as a JSON value.
pub fn to_value(r: &ScanReport) -> Value {
    let mut m = Map::new();
    m.insert("lines".into(), json!(r.lines));
    m.insert("parsed".into(), json!(r.parsed));
    m.insert(
        "malformed".into(),
        json!({ "count": r.malformed, "samples": r.samples }),
    );
    m.insert(
        "format".into(),
        json!({ "name": r.format, "detected": r.format_detected }),
    );
    m.insert("filtered".into(), json!(r.filtered));
    m.insert("inputs".into(), json!(r.inputs));
    m.insert("errors".into(), json!(r.errors));
    if let Some(s) = &r.summary {
        m.insert("summary".into(), summary(s, r.audit.is_some()));
    }
    if let Some(a) = &r.audit {
        let mut v = audit(a);
        if let Some(note) = &r.audit_note {
            v["note"] = json!(note);
        }
        m.insert("audit".into(), v);
    } else if let Some(note) = &r.audit_note {
        m.insert("audit".into(), json!({ "skipped": note }));
    }
    if let Some(notes) = &r.state_notes {
        m.insert("state".into(), json!({ "notes": notes }));
    }
    if let Some(w) = r.window_seconds {
        let rate = r.summary.as_ref().map(|s| {
            if w == 0 {
                0.0
            } else {
                s.requests as f64 / w as f64
            }
        });
        m.insert(
            "window".into(),
            json!({ "seconds": w, "requests_per_second": rate }),
        );
    }
    if let Some(st) = &r.mergeable {
        // `merge::MERGEABLE_KEY`, spelled out: `merge` sits above `report`.
        m.insert("mergeable".into(), st.clone());
    }
    Value::Object(m)
}

/// The report as pretty-printed JSON text with a final newline.
pub fn render(r: &ScanReport) -> String {
    let mut s = crate::escape::json_pretty(&to_value(r)).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}
