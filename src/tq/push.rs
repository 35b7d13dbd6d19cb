//! The write: names resolved and checked, indicators brought to their planned state batch by batch, the
//! run's event found or made and linked, then every status read back.
//!
//! Every step is idempotent by construction (look up, then create or amend only what differs) and is
//! retried as a whole on transient errors ([`step`]), so a create whose reply was lost is found by the
//! retry's lookup. The same property makes a killed run, run again, end where an uninterrupted run ends.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use super::api::{self, Api, WITH, attribute_body, id_of, is_transient};
use super::auth::{Auth, Grant, GrantKind, token_url};
use super::plan::{self, Event, Indicator, Plan, Role};
use super::{Args, NAME, Retry};
use crate::cli::{self, Output};
use crate::http::Backoff;
use crate::secrets::Secrets;

/// The indicator type every value is written as.
pub const INDICATOR_TYPE: &str = "URL Path";
/// The status exports deploy to blocking tools.
pub const ACTIVE: &str = "Active";

/// A resolved indicator status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: u64,
    pub name: String,
    pub include_in_export: bool,
}

/// Names resolved to this instance's ids.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub type_id: u64,
    pub baseline: Status,
    pub review: Status,
    /// Every status by id, for messages.
    pub statuses: BTreeMap<u64, String>,
    pub active_id: Option<u64>,
    /// (id, name), when the run has an event.
    pub event_type: Option<(u64, String)>,
}

/// Refuses an Active status by name before anything else happens (no network needed).
pub fn refuse_active_names(args: &Args) -> Result<()> {
    for (flag, name) in
        [("--baseline-status", &args.baseline_status), ("--review-status", &args.review_status)]
    {
        if name.trim().eq_ignore_ascii_case(ACTIVE) {
            bail!("{flag} {name}: refused: Active is the status exports deploy to blocking tools");
        }
    }
    Ok(())
}

fn name_of(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

fn yes(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => matches!(s.as_str(), "Y" | "y" | "1" | "true"),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

/// Finds `name` in a list of named objects: the exact name, else the only case-insensitive match, else
/// (for a number) the id.
pub fn by_name<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    let name = name.trim();
    if let Some(v) = list.iter().find(|v| name_of(v) == Some(name)) {
        return Some(v);
    }
    let ci: Vec<_> =
        list.iter().filter(|v| name_of(v).is_some_and(|n| n.trim().eq_ignore_ascii_case(name))).collect();
    if let [one] = ci[..] {
        return Some(one);
    }
    let id: u64 = name.parse().ok()?;
    list.iter().find(|v| id_of(v) == Some(id))
}

fn missing(what: &str, name: &str, list: &[Value]) -> anyhow::Error {
    if list.is_empty() {
        return anyhow!(
            "{what} {name:?} not found: the instance listed none (the account may lack the permission to \
             read them)"
        );
    }
    let mut names: Vec<&str> = list.iter().filter_map(name_of).collect();
    names.sort_unstable();
    anyhow!("{what} {name:?} not found; this instance has: {}", names.join(", "))
}

/// Resolves the type, the two statuses (refusing Active) and, when needed, the event type.
pub fn resolve(
    types: &[Value],
    statuses: &[Value],
    event_types: Option<&[Value]>,
    args: &Args,
) -> Result<Resolved> {
    let ty =
        by_name(types, INDICATOR_TYPE).ok_or_else(|| missing("indicator type", INDICATOR_TYPE, types))?;
    let type_id = id_of(ty).ok_or_else(|| anyhow!("indicator type {INDICATOR_TYPE:?} has no id"))?;
    let active_id = statuses.iter().find(|s| name_of(s).is_some_and(|n| n.eq_ignore_ascii_case(ACTIVE)));
    let active_id = active_id.and_then(id_of);
    let pick = |flag: &str, name: &str| -> Result<Status> {
        let s = by_name(statuses, name).ok_or_else(|| missing(&format!("{flag}: status"), name, statuses))?;
        let id = id_of(s).ok_or_else(|| anyhow!("{flag}: status {name:?} has no id"))?;
        let real = name_of(s).unwrap_or(name).to_string();
        if Some(id) == active_id || real.trim().eq_ignore_ascii_case(ACTIVE) {
            bail!(
                "{flag} {name}: refused: it resolves to Active (id {id}), the status exports deploy to \
                 blocking tools"
            );
        }
        Ok(Status { id, name: real, include_in_export: yes(s.get("include_in_export")) })
    };
    let baseline = pick("--baseline-status", &args.baseline_status)?;
    let review = pick("--review-status", &args.review_status)?;
    let event_type = match event_types {
        None => None,
        Some(list) => {
            let t = by_name(list, &args.event_type)
                .ok_or_else(|| missing("event type", &args.event_type, list))?;
            let id = id_of(t).ok_or_else(|| anyhow!("event type {:?} has no id", args.event_type))?;
            Some((id, name_of(t).unwrap_or(&args.event_type).to_string()))
        }
    };
    let statuses = statuses.iter().filter_map(|s| Some((id_of(s)?, name_of(s)?.to_string()))).collect();
    Ok(Resolved { type_id, baseline, review, statuses, active_id, event_type })
}

/// The create body of an indicator; ids are values so that `--dry-run` can show placeholders.
pub fn indicator_body(ind: &Indicator, type_id: Value, status_id: Value, source: &str) -> Value {
    let hosts = if ind.hosts.is_empty() {
        String::new()
    } else {
        let mut h: Vec<&str> = ind.hosts.iter().take(10).map(String::as_str).collect();
        let more = ind.hosts.len().saturating_sub(10);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        h.sort_unstable();
        format!(" on {}{more}", h.join(", "))
    };
    let what = match ind.role {
        Role::Review => "first requested after the baseline",
        Role::Baseline => "part of the learned baseline",
    };
    json!({
        "value": ind.value,
        "type_id": type_id,
        "status_id": status_id,
        "description": plan::html(&format!(
            "URL path {what}{hosts}, written by webshell-hunt. A path of the site itself: never for blocking."
        )),
        "sources": [{"name": source}],
        "attributes": ind.attributes.iter().map(|(n, v)| attribute_body(n, v, source)).collect::<Vec<_>>(),
    })
}

/// The create body of the run's event.
pub fn event_body(ev: &Event, type_id: Value, type_name: &str, source: &str) -> Value {
    json!({
        "title": ev.title,
        "type": type_name,
        "type_id": type_id,
        "happened_at": ev.happened_at,
        "description": ev.description,
        "sources": [{"name": source}],
        "attributes": [attribute_body(plan::attr::RUN_ID, &ev.run_id, source)],
    })
}

/// Runs `f` until it succeeds, fails for good, or transient failures outlast `retry.total`.
pub fn step<T>(retry: Retry, what: &str, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut b = Backoff::new(retry.first, retry.first * 32, retry.total);
    loop {
        let e = match f() {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(t) = is_transient(&e) else { return Err(e.context(what.to_string())) };
        let Some(d) = b.next_delay().map(|d| t.retry_after.map_or(d, |ra| ra.max(d))) else {
            let n = b.attempts + 1;
            return Err(e.context(format!("{what}: gave up after {n} attempts")));
        };
        cli::warn(NAME, format_args!("{what}: {e:#}; retrying in {} ms", d.as_millis()));
        std::thread::sleep(d);
    }
}

fn status_of(rec: &Value) -> Option<u64> {
    rec.get("status_id").and_then(Value::as_u64).or_else(|| rec.get("status").and_then(id_of))
}

fn manual_score(rec: &Value) -> Option<u64> {
    match rec.get("score")? {
        Value::Object(o) => o.get("manual_score")?.as_u64(),
        _ => None,
    }
}

/// An indicator after its batch: where it is and what status it must have.
#[derive(Debug, Clone)]
struct Placed {
    value: String,
    ids: Vec<u64>,
    want: Status,
    changed: bool,
}

/// Brings one existing indicator record to the planned state; returns (status wanted, anything changed).
fn reconcile(
    api: &mut Api,
    ind: &Indicator,
    rec: &Value,
    r: &Resolved,
    source: &str,
) -> Result<(Status, bool)> {
    let id = id_of(rec).ok_or_else(|| anyhow!("{}: indicator without id", ind.value))?;
    let now = status_of(rec);
    let want = match ind.role {
        Role::Review => r.review.clone(),
        // A later run that only learned the path does not take it out of review: an analyst decides.
        Role::Baseline if now == Some(r.review.id) => r.review.clone(),
        Role::Baseline => r.baseline.clone(),
    };
    if Some(want.id) == r.active_id {
        bail!("internal error: about to set Active on {}", ind.value);
    }
    let mut changed = false;
    if now != Some(want.id) {
        if now == r.active_id && now.is_some() {
            cli::warn(NAME, format_args!("{}: was Active; setting {}", ind.value, want.name));
        }
        api.set_status(id, want.id)?;
        changed = true;
    }
    let have: BTreeSet<(String, String)> = rec
        .get("attributes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((name_of(x)?.to_string(), x.get("value")?.as_str()?.trim().to_string())))
                .collect()
        })
        .unwrap_or_default();
    for (n, v) in &ind.attributes {
        if !have.contains(&(n.clone(), v.trim().to_string())) {
            api.add_attribute(id, n, v, source)?;
            changed = true;
        }
    }
    let sources = rec.get("sources").and_then(Value::as_array);
    if !sources.is_some_and(|s| s.iter().any(|x| name_of(x) == Some(source))) {
        api.add_source(id, source)?;
        changed = true;
    }
    if manual_score(rec) != Some(u64::from(ind.score)) {
        api.set_score(id, ind.score)?;
        changed = true;
    }
    Ok((want, changed))
}

/// One batch: look every value up, create the missing ones in one request, reconcile all.
fn write_batch(
    api: &mut Api,
    consume: &mut bool,
    chunk: &[Indicator],
    r: &Resolved,
    source: &str,
    created: &mut BTreeSet<String>,
) -> Result<Vec<Placed>> {
    let mut recs: Vec<Vec<Value>> = Vec::with_capacity(chunk.len());
    for ind in chunk {
        let mut found = api.find_indicator(&ind.value, r.type_id)?;
        found.sort_by_key(|v| id_of(v).unwrap_or(u64::MAX));
        if found.len() > 1 {
            cli::warn(
                NAME,
                format_args!("{}: {} indicators of this value; all are set", ind.value, found.len()),
            );
        }
        recs.push(found);
    }
    let absent: Vec<usize> = (0..chunk.len()).filter(|&i| recs[i].is_empty()).collect();
    if !absent.is_empty() {
        let status_for = |ind: &Indicator| match ind.role {
            Role::Review => r.review.id,
            Role::Baseline => r.baseline.id,
        };
        let bodies: Vec<Value> = absent
            .iter()
            .map(|&i| indicator_body(&chunk[i], json!(r.type_id), json!(status_for(&chunk[i])), source))
            .collect();
        let got = match api.create_indicators(&bodies, *consume)? {
            Some(got) => got,
            None => {
                cli::warn(
                    NAME,
                    "POST /api/indicators/consume is not available; creating with POST /api/indicators",
                );
                *consume = false;
                api.create_indicators(&bodies, false)?.expect("plain create has no fallback")
            }
        };
        for &i in &absent {
            let value = &chunk[i].value;
            let id = got
                .iter()
                .find(|g| g.get("value").and_then(Value::as_str) == Some(value))
                .and_then(id_of)
                .ok_or_else(|| anyhow!("{value}: created, but the reply does not give its id"))?;
            created.insert(value.clone());
            // Read it back: the server may have kept another status, dropped attributes, or set no score.
            recs[i] = vec![api.indicator(id)?];
        }
    }
    let mut placed = Vec::with_capacity(chunk.len());
    for (ind, found) in chunk.iter().zip(&recs) {
        let mut p = Placed { value: ind.value.clone(), ids: vec![], want: r.review.clone(), changed: false };
        let mut wants = vec![];
        for rec in found {
            let (want, changed) = reconcile(api, ind, rec, r, source)?;
            p.ids.push(id_of(rec).expect("checked in reconcile"));
            p.changed |= changed;
            wants.push(want);
        }
        // Duplicates all get the same status: review wins over baseline.
        p.want = if wants.iter().any(|w| w.id == r.review.id) { r.review.clone() } else { wants[0].clone() };
        if wants.iter().any(|w| w.id != p.want.id) {
            for &id in &p.ids {
                api.set_status(id, p.want.id)?;
            }
        }
        placed.push(p);
    }
    Ok(placed)
}

fn first_last(chunk: &[Indicator]) -> String {
    match chunk {
        [] => String::new(),
        [one] => plan::clean(&one.value),
        [a, .., b] => format!("{} … {}", plan::clean(&a.value), plan::clean(&b.value)),
    }
}

/// The real run.
pub fn push(args: &Args, base: url::Url, plan: &Plan, n_findings: usize, retry: Retry) -> Result<()> {
    let secrets = Secrets::load(args.secrets.as_deref())?;
    let grant = Grant::load(args.grant, &secrets)?;
    let token_client = crate::http::client(NAME, &args.http, false)?;
    let api_client = crate::http::client(NAME, &args.http, true)?;
    let auth = Auth::new(token_client, token_url(&base)?, grant);
    let mut api = Api::new(api_client, base, auth);

    let r = step(retry, "resolving names", || {
        let types = api.indicator_types()?;
        let statuses = api.statuses()?;
        let events = if plan.event.is_some() { Some(api.event_types()?) } else { None };
        Ok((types, statuses, events))
    })?;
    let r = resolve(&r.0, &r.1, r.2.as_deref(), args)?;
    for (flag, s) in [("--baseline-status", &r.baseline), ("--review-status", &r.review)] {
        if s.include_in_export {
            cli::warn(
                NAME,
                format_args!(
                    "warning: {flag} {} is marked include_in_export on this instance; check that no export \
                     or data-collection feeding a blocking tool takes it",
                    s.name
                ),
            );
        }
    }

    let mut consume = true;
    let mut created = BTreeSet::new();
    let mut placed: Vec<Placed> = Vec::with_capacity(plan.indicators.len());
    let chunks: Vec<&[Indicator]> = plan.indicators.chunks(usize::from(args.batch)).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let what = format!("batch {}/{} ({})", i + 1, chunks.len(), first_last(chunk));
        placed.extend(step(retry, &what, || {
            write_batch(&mut api, &mut consume, chunk, &r, &args.source, &mut created)
        })?);
    }

    let ids: BTreeMap<&str, u64> = placed.iter().map(|p| (p.value.as_str(), p.ids[0])).collect();
    let mut event_note = String::from("no new findings, no event");
    let mut event_check = None;
    if let (Some(ev), Some((type_id, type_name))) = (&plan.event, &r.event_type) {
        let (event_id, made) = step(retry, "event", || {
            let mut found = api.find_events(&ev.title)?;
            found.sort_by_key(|e| id_of(e).unwrap_or(u64::MAX));
            if found.len() > 1 {
                cli::warn(
                    NAME,
                    format_args!("{} events titled {:?}; using the first", found.len(), ev.title),
                );
            }
            match found.first().and_then(id_of) {
                Some(id) => Ok((id, false)),
                None => {
                    Ok((api.create_event(&event_body(ev, json!(type_id), type_name, &args.source))?, true))
                }
            }
        })?;
        let want: BTreeSet<u64> = ev.indicators.iter().map(|v| ids[v.as_str()]).collect();
        let linked = step(retry, "linking the event", || {
            let have: BTreeSet<u64> = api.event_indicators(event_id)?.into_iter().collect();
            let todo: Vec<u64> = want.difference(&have).copied().collect();
            for c in todo.chunks(usize::from(args.batch)) {
                api.link(event_id, c)?;
            }
            Ok(todo.len())
        })?;
        event_note = format!(
            "event {event_id} {} ({} indicators, {linked} newly linked)",
            if made { "created" } else { "found" },
            want.len()
        );
        event_check = Some((event_id, want));
    }

    // Read every status back: the one hard rule is checked against the server, not assumed.
    let mut failures = Vec::new();
    for p in &placed {
        for &id in &p.ids {
            let rec = step(retry, &format!("verifying {}", plan::clean(&p.value)), || api.indicator(id))?;
            let got = status_of(&rec);
            if got == Some(p.want.id) {
                continue;
            }
            let got_name =
                got.and_then(|g| r.statuses.get(&g).cloned()).unwrap_or_else(|| format!("{got:?}"));
            let loud = if got.is_some() && got == r.active_id {
                " -- ACTIVE: EXPORTED TO BLOCKING TOOLS"
            } else {
                ""
            };
            failures.push(format!(
                "{} (id {id}): status is {got_name}, asked for {}{loud}",
                plan::clean(&p.value),
                p.want.name
            ));
        }
    }
    if let Some((event_id, want)) = &event_check {
        let have: BTreeSet<u64> =
            step(retry, "verifying the event's links", || api.event_indicators(*event_id))?
                .into_iter()
                .collect();
        for id in want.difference(&have) {
            failures.push(format!("event {event_id}: indicator {id} is not linked"));
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} problem{} after writing; the run is NOT complete:\n  {}",
            failures.len(),
            if failures.len() == 1 { "" } else { "s" },
            failures.join("\n  ")
        );
    }

    if !args.quiet {
        let review = placed.iter().filter(|p| p.want.id == r.review.id).count();
        let changed = placed.iter().filter(|p| p.changed && !created.contains(&p.value)).count();
        cli::warn(
            NAME,
            format_args!(
                "{n_findings} findings ({} known, skipped) -> {} indicators: {} created, {changed} updated, \
                 {} unchanged; {review} {}, {} {}; {event_note}; all verified ({} requests, {} token{})",
                plan.skipped_known,
                placed.len(),
                created.len(),
                placed.len() - created.len() - changed,
                r.review.name,
                placed.len() - review,
                r.baseline.name,
                api.requests,
                api.auth.fetched,
                if api.auth.fetched == 1 { "" } else { "s" }
            ),
        );
    }
    Ok(())
}

/// `--dry-run`: the requests a run would make against an instance that holds none of the indicators yet.
pub fn dry_run(args: &Args, base: &url::Url, plan: &Plan) -> Result<()> {
    // Load the credentials as a real run would, so a missing one shows now; print none of them.
    let secrets = Secrets::load(args.secrets.as_deref())?;
    Grant::load(args.grant, &secrets)?;
    let mut out = Output::stdout(false);
    let mut emit = |method: &str, url: String, body: Option<Value>| -> Result<()> {
        let mut line = json!({"method": method, "url": url});
        if let Some(b) = body {
            line["body"] = b;
        }
        out.write_record(&line)?;
        Ok(())
    };
    let q = |pairs: &[(&str, &str)]| -> String {
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    };
    match args.grant {
        GrantKind::Password => emit(
            "POST",
            format!("{base}token?grant_type=password&client_id=***"),
            Some(json!({"email": "***", "password": "***"})),
        )?,
        GrantKind::ClientCredentials => emit(
            "POST",
            format!("{base}token?grant_type=client_credentials"),
            Some(json!({"authorization": "Basic ***"})),
        )?,
    }
    let page = q(&[("limit", &api::PAGE.to_string()), ("offset", "0")]);
    emit("GET", format!("{base}indicator/types?{page}"), None)?;
    emit("GET", format!("{base}indicator/statuses?{page}"), None)?;
    if plan.event.is_some() {
        emit("GET", format!("{base}event/types?{page}"), None)?;
    }
    let type_id = format!("<id of indicator type {INDICATOR_TYPE}>");
    let status = |ind: &Indicator| match ind.role {
        Role::Review => format!("<id of status {}>", args.review_status),
        Role::Baseline => format!("<id of status {}>", args.baseline_status),
    };
    let id = |v: &str| format!("<id of {v}>");
    for chunk in plan.indicators.chunks(usize::from(args.batch)) {
        for ind in chunk {
            let qs = q(&[("value", &ind.value), ("type_id", &type_id), ("with", WITH)]);
            emit("GET", format!("{base}indicators?{qs}"), None)?;
        }
        let bodies: Vec<Value> =
            chunk.iter().map(|i| indicator_body(i, json!(type_id), json!(status(i)), &args.source)).collect();
        emit("POST", format!("{base}indicators/consume"), Some(Value::Array(bodies)))?;
        for ind in chunk {
            emit("GET", format!("{base}indicators/{}?{}", id(&ind.value), q(&[("with", WITH)])), None)?;
            emit(
                "PUT",
                format!("{base}indicator/{}/scores", id(&ind.value)),
                Some(json!({"manual_score": ind.score})),
            )?;
        }
    }
    if let Some(ev) = &plan.event {
        emit("GET", format!("{base}events?{}", q(&[("title", &ev.title), ("with", "attributes")])), None)?;
        let tid = format!("<id of event type {}>", args.event_type);
        emit(
            "POST",
            format!("{base}events"),
            Some(event_body(ev, json!(tid), &args.event_type, &args.source)),
        )?;
        emit("GET", format!("{base}events/<event id>/indicators?{page}"), None)?;
        for c in ev.indicators.chunks(usize::from(args.batch)) {
            let ids: Vec<Value> = c.iter().map(|v| json!({"id": id(v)})).collect();
            emit("POST", format!("{base}events/<event id>/indicators"), Some(Value::Array(ids)))?;
        }
    }
    for ind in &plan.indicators {
        emit("GET", format!("{base}indicators/{}?{}", id(&ind.value), q(&[("with", WITH)])), None)?;
    }
    out.finish()?;
    if !args.quiet {
        cli::warn(
            NAME,
            format_args!(
                "dry run: nothing was contacted; {} indicators, {}; as if none existed yet",
                plan.indicators.len(),
                if plan.event.is_some() { "one event" } else { "no event" }
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(baseline: &str, review: &str) -> Args {
        use clap::Parser;
        Args::parse_from([
            "tq-push",
            "--url",
            "https://x",
            "--baseline-status",
            baseline,
            "--review-status",
            review,
        ])
    }

    fn statuses() -> Vec<Value> {
        serde_json::from_value(json!([
            {"id": 11, "name": "Active", "include_in_export": "Y"},
            {"id": 14, "name": "Review", "include_in_export": "N"},
            {"id": 15, "name": "Whitelisted", "include_in_export": "N"},
            {"id": 21, "name": "Legitimate", "include_in_export": "Y"},
        ]))
        .unwrap()
    }

    fn types() -> Vec<Value> {
        serde_json::from_value(json!([{"id": 3, "name": "URL"}, {"id": 47, "name": "URL Path"}])).unwrap()
    }

    #[test]
    fn resolves_names_and_refuses_active_by_name_or_id() {
        let r = resolve(&types(), &statuses(), None, &args("Legitimate", "review")).unwrap();
        assert_eq!((r.type_id, r.baseline.id, r.review.id, r.baseline.include_in_export), (47, 21, 14, true));
        for (b, rv) in [("Whitelisted", "ACTIVE"), ("11", "Review"), ("Whitelisted", "11")] {
            let e = resolve(&types(), &statuses(), None, &args(b, rv)).unwrap_err().to_string();
            assert!(e.contains("refused") && e.contains("Active"), "{e}");
        }
        assert!(refuse_active_names(&args("Whitelisted", " active ")).is_err());
        assert!(refuse_active_names(&args("Whitelisted", "Review")).is_ok());
    }

    #[test]
    fn a_missing_name_lists_what_exists() {
        let e = resolve(&types(), &statuses(), None, &args("Benign", "Review")).unwrap_err().to_string();
        assert!(e.contains("\"Benign\" not found") && e.contains("Legitimate, Review, Whitelisted"), "{e}");
        let e = resolve(&types()[..1], &statuses(), None, &args("Whitelisted", "Review")).unwrap_err();
        assert!(e.to_string().contains("this instance has: URL"), "{e}");
        let e = resolve(&types(), &[], None, &args("Whitelisted", "Review")).unwrap_err();
        assert!(e.to_string().contains("permission"), "{e}");
    }

    #[test]
    fn step_retries_transient_errors_only() {
        let retry = Retry { first: Duration::from_millis(1), total: Duration::from_secs(5) };
        let mut n = 0;
        let v = step(retry, "x", || {
            n += 1;
            if n < 3 { Err(anyhow!(api::Transient::new("HTTP 500".into()))) } else { Ok(n) }
        });
        assert_eq!(v.unwrap(), 3);
        let mut n = 0;
        let e = step(retry, "x", || -> Result<()> {
            n += 1;
            bail!("HTTP 400")
        });
        assert!(e.is_err());
        assert_eq!(n, 1);
        let retry = Retry { first: Duration::from_millis(1), total: Duration::from_millis(5) };
        let e = step(retry, "x", || -> Result<()> { Err(anyhow!(api::Transient::new("HTTP 503".into()))) });
        assert!(format!("{:#}", e.unwrap_err()).contains("gave up after"));
    }
}
