//! The write: names resolved and checked, indicators brought to their planned state batch by batch, the
//! run's event found or made and linked, then every status read back.
//!
//! Every step is idempotent by construction (look up, then create or amend only what differs) and is
//! retried as a whole on transient errors ([`step`]), so a create whose reply was lost is found by the
//! retry's lookup. The same property makes a killed run, run again, end where an uninterrupted run ends.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use super::api::{self, Api, Transient, WITH, attribute_body, id_of, is_transient};
use super::auth::{Auth, Grant, GrantKind, token_url};
use super::lookup::{self, Lookup, query_body};
use super::plan::{self, Event, Indicator, Kind, Plan, Role};
use super::{Args, NAME, Retry};
use crate::cli::{self, Output};
use crate::http::Backoff;
use crate::secrets::Secrets;

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
    /// The id of each indicator type the plan writes.
    pub types: BTreeMap<Kind, u64>,
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

impl Resolved {
    /// The indicator type of `kind` (resolved for every kind of the plan).
    pub fn ty(&self, kind: Kind) -> lookup::Type {
        lookup::Type { kind, id: self.types[&kind] }
    }
}

/// Every indicator type a plan writes: URL Path always, and the file types when it has file indicators.
pub fn kinds(plan: &Plan) -> BTreeSet<Kind> {
    std::iter::once(Kind::UrlPath).chain(plan.indicators.iter().map(|i| i.kind)).collect()
}

/// Resolves the indicator types of `kinds`, the two statuses (refusing Active) and, when needed, the
/// event type.
pub fn resolve(
    types: &[Value],
    statuses: &[Value],
    event_types: Option<&[Value]>,
    args: &Args,
    kinds: &BTreeSet<Kind>,
) -> Result<Resolved> {
    let mut type_ids = BTreeMap::new();
    for &k in kinds {
        let name = k.type_name();
        let ty = by_name(types, name).ok_or_else(|| match k {
            Kind::UrlPath => missing("indicator type", name, types),
            _ => missing("indicator type", name, types)
                .context("file indicators need it; --no-file-indicators writes URL paths only"),
        })?;
        type_ids.insert(k, id_of(ty).ok_or_else(|| anyhow!("indicator type {name:?} has no id"))?);
    }
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
    Ok(Resolved { types: type_ids, baseline, review, statuses, active_id, event_type })
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
    let description = match ind.kind {
        Kind::UrlPath => {
            format!(
                "URL path {what}{hosts}, written by webshell-hunt. A path of the site itself: never for blocking."
            )
        }
        Kind::Sha256 | Kind::FilePath => format!(
            "{} of a script file in the web root{hosts}, added or changed since the baseline, written by \
             webshell-hunt for review. A file of the site itself: never for blocking.",
            if ind.kind == Kind::Sha256 { "Content hash" } else { "Path" }
        ),
    };
    json!({
        "value": ind.value,
        "type_id": type_id,
        "status_id": status_id,
        "description": plan::html(&description),
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
    kind: Kind,
    value: String,
    ids: Vec<u64>,
    want: Status,
    changed: bool,
}

/// The status one existing record must have.
fn wanted(ind: &Indicator, rec: &Value, r: &Resolved) -> Result<Status> {
    let want = match ind.role {
        Role::Review => r.review.clone(),
        // A later run that only learned the path does not take it out of review: an analyst decides.
        Role::Baseline if status_of(rec) == Some(r.review.id) => r.review.clone(),
        Role::Baseline => r.baseline.clone(),
    };
    if Some(want.id) == r.active_id {
        bail!("internal error: about to set Active on {}", ind.value);
    }
    Ok(want)
}

/// What one record lacks of its planned state (the manual score aside).
#[derive(Debug, Default)]
struct Gap {
    /// The status to set, when it differs.
    status: Option<u64>,
    attributes: Vec<(String, String)>,
    source: bool,
}

impl Gap {
    fn of(ind: &Indicator, rec: &Value, want: &Status, source: &str) -> Gap {
        let have: BTreeSet<(&str, &str)> = rec
            .get("attributes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| Some((name_of(x)?, x.get("value")?.as_str()?.trim()))).collect())
            .unwrap_or_default();
        let attributes =
            ind.attributes.iter().filter(|(n, v)| !have.contains(&(n.as_str(), v.trim()))).cloned().collect();
        let sources = rec.get("sources").and_then(Value::as_array);
        Gap {
            status: (status_of(rec) != Some(want.id)).then_some(want.id),
            attributes,
            source: !sources.is_some_and(|s| s.iter().any(|x| name_of(x) == Some(source))),
        }
    }

    fn is_empty(&self) -> bool {
        self.status.is_none() && self.attributes.is_empty() && !self.source
    }

    /// A consume object that brings an existing indicator to its state in one bulk request.
    fn body(&self, ind: &Indicator, type_id: u64, want: &Status, source: &str) -> Value {
        let mut o = json!({"value": ind.value, "type_id": type_id, "status_id": want.id});
        if self.source {
            o["sources"] = json!([{"name": source}]);
        }
        if !self.attributes.is_empty() {
            o["attributes"] = self.attributes.iter().map(|(n, v)| attribute_body(n, v, source)).collect();
        }
        o
    }

    /// Closes the gap one request at a time.
    fn close(&self, api: &mut Api, id: u64, source: &str) -> Result<()> {
        if let Some(st) = self.status {
            api.set_status(id, st)?;
        }
        for (n, v) in &self.attributes {
            api.add_attribute(id, n, v, source)?;
        }
        if self.source {
            api.add_source(id, source)?;
        }
        Ok(())
    }
}

/// Sends `bodies` in one `POST /api/indicators/consume`; false where the instance has none (said once,
/// and remembered in `available`).
fn consume(api: &mut Api, available: &mut bool, bodies: &[Value]) -> Result<bool> {
    if *available && api.create_indicators(bodies, true)? {
        return Ok(true);
    }
    if *available {
        cli::warn(
            NAME,
            "POST /api/indicators/consume is not available; creating with POST /api/indicators, updating one \
             by one",
        );
        *available = false;
    }
    Ok(false)
}

/// Creates `bodies` with one consume, or with `POST /api/indicators` where consume is missing.
fn create(api: &mut Api, available: &mut bool, bodies: &[Value]) -> Result<()> {
    if !consume(api, available, bodies)? {
        api.create_indicators(bodies, false)?;
    }
    Ok(())
}

/// One batch: every value looked up in bulk, the missing ones created in one request, and every record
/// brought to its planned state: what differs in one consume (where the instance has it), what then
/// still differs request by request, the manual score of review indicators last. Records are read
/// again after each bulk write, so nothing is assumed to have taken.
fn write_batch(
    api: &mut Api,
    lookup: &mut Lookup,
    available: &mut bool,
    chunk: &[Indicator],
    r: &Resolved,
    source: &str,
    created: &mut BTreeSet<(Kind, String)>,
) -> Result<Vec<Placed>> {
    // A batch is of one type (see `batches`).
    let ty = r.ty(chunk[0].kind);
    let values = values_of(chunk);
    let mut recs = lookup.find(api, ty, &values, true)?;
    for (ind, found) in chunk.iter().zip(&recs) {
        if found.len() > 1 {
            cli::warn(
                NAME,
                format_args!(
                    "{}: {} indicators of this value; all are set",
                    plan::clean(&ind.value),
                    found.len()
                ),
            );
        }
    }
    let absent: Vec<usize> = (0..chunk.len()).filter(|&i| recs[i].is_empty()).collect();
    if !absent.is_empty() {
        let status_for = |ind: &Indicator| match ind.role {
            Role::Review => r.review.id,
            Role::Baseline => r.baseline.id,
        };
        let bodies: Vec<Value> = absent
            .iter()
            .map(|&i| indicator_body(&chunk[i], json!(ty.id), json!(status_for(&chunk[i])), source))
            .collect();
        create(api, available, &bodies)?;
        let again = lookup.find(api, ty, &absent.iter().map(|&i| values[i]).collect::<Vec<_>>(), true)?;
        for (&i, found) in absent.iter().zip(again) {
            if found.is_empty() {
                return Err(anyhow!(Transient::new(format!(
                    "{}: created, but a lookup does not find it (yet)",
                    plan::clean(&chunk[i].value)
                ))));
            }
            created.insert((chunk[i].kind, chunk[i].value.clone()));
            recs[i] = found;
        }
    }

    // The status each record must have, from its status before this run wrote anything.
    let mut wants: Vec<Vec<Status>> = Vec::with_capacity(chunk.len());
    for (ind, found) in chunk.iter().zip(&recs) {
        let mut w = Vec::with_capacity(found.len());
        for rec in found {
            id_of(rec).ok_or_else(|| anyhow!("{}: indicator without id", plan::clean(&ind.value)))?;
            let want = wanted(ind, rec, r)?;
            let now = status_of(rec);
            if now.is_some() && now == r.active_id && now != Some(want.id) {
                cli::warn(
                    NAME,
                    format_args!("{}: was Active; setting {}", plan::clean(&ind.value), want.name),
                );
            }
            w.push(want);
        }
        wants.push(w);
    }
    let mut changed = vec![false; chunk.len()];

    // What differs, in one consume (a value with duplicates is left to the requests below).
    if *available {
        let mut bodies = Vec::new();
        let mut which = Vec::new();
        for (i, (ind, found)) in chunk.iter().zip(&recs).enumerate() {
            if let [rec] = found.as_slice() {
                let gap = Gap::of(ind, rec, &wants[i][0], source);
                if !gap.is_empty() {
                    bodies.push(gap.body(ind, ty.id, &wants[i][0], source));
                    which.push(i);
                    changed[i] = true;
                }
            }
        }
        if !bodies.is_empty() && consume(api, available, &bodies)? {
            let again = lookup.find(api, ty, &which.iter().map(|&i| values[i]).collect::<Vec<_>>(), true)?;
            for (&i, found) in which.iter().zip(again) {
                if !found.is_empty() {
                    recs[i] = found;
                }
            }
        }
    }

    let mut placed = Vec::with_capacity(chunk.len());
    for (i, (ind, found)) in chunk.iter().zip(&recs).enumerate() {
        let mut p = Placed {
            kind: ind.kind,
            value: ind.value.clone(),
            ids: vec![],
            want: r.review.clone(),
            changed: changed[i],
        };
        for (rec, want) in found.iter().zip(&wants[i]) {
            let id = id_of(rec).expect("checked above");
            let gap = Gap::of(ind, rec, want, source);
            if !gap.is_empty() {
                gap.close(api, id, source)?;
                p.changed = true;
            }
            // The manual score ranks what analysts review; a learned path has none to give.
            if ind.role == Role::Review && manual_score(rec) != Some(u64::from(ind.score)) {
                api.set_score(id, ind.score)?;
                p.changed = true;
            }
            p.ids.push(id);
        }
        // Duplicates all get the same status: review wins over baseline.
        let w = &wants[i];
        p.want = if w.iter().any(|w| w.id == r.review.id) { r.review.clone() } else { w[0].clone() };
        if w.iter().any(|w| w.id != p.want.id) {
            for &id in &p.ids {
                api.set_status(id, p.want.id)?;
            }
        }
        placed.push(p);
    }
    Ok(placed)
}

/// The plan's indicators in batches of at most `batch`, each of one type.
fn batches(plan: &Plan, batch: u16) -> Vec<&[Indicator]> {
    plan.indicators.chunk_by(|a, b| a.kind == b.kind).flat_map(|g| g.chunks(usize::from(batch))).collect()
}

fn values_of(chunk: &[Indicator]) -> Vec<&str> {
    chunk.iter().map(|i| i.value.as_str()).collect()
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
    let r = resolve(&r.0, &r.1, r.2.as_deref(), args, &kinds(plan))?;
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

    let mut lookup = Lookup::new();
    let mut consume_available = true;
    let mut created = BTreeSet::new();
    let mut placed: Vec<Placed> = Vec::with_capacity(plan.indicators.len());
    let chunks = batches(plan, args.batch);
    for (i, chunk) in chunks.iter().enumerate() {
        let what = format!("batch {}/{} ({})", i + 1, chunks.len(), first_last(chunk));
        placed.extend(step(retry, &what, || {
            write_batch(&mut api, &mut lookup, &mut consume_available, chunk, &r, &args.source, &mut created)
        })?);
    }

    let ids: BTreeMap<(Kind, &str), u64> =
        placed.iter().map(|p| ((p.kind, p.value.as_str()), p.ids[0])).collect();
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
        let want: BTreeSet<u64> = ev.indicators.iter().map(|(k, v)| ids[&(*k, v.as_str())]).collect();
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
    let parts: Vec<&[Placed]> =
        placed.chunk_by(|a, b| a.kind == b.kind).flat_map(|g| g.chunks(usize::from(args.batch))).collect();
    for (i, part) in parts.iter().enumerate() {
        let values: Vec<&str> = part.iter().map(|p| p.value.as_str()).collect();
        let what = format!("verifying batch {}/{}", i + 1, parts.len());
        let ty = r.ty(part[0].kind);
        let found = step(retry, &what, || lookup.find(&mut api, ty, &values, false))?;
        for (p, recs) in part.iter().zip(&found) {
            for &id in &p.ids {
                let Some(rec) = recs.iter().find(|x| id_of(x) == Some(id)) else {
                    failures.push(format!("{} (id {id}): not found when read back", plan::clean(&p.value)));
                    continue;
                };
                let got = status_of(rec);
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
        let changed =
            placed.iter().filter(|p| p.changed && !created.contains(&(p.kind, p.value.clone()))).count();
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
    let type_id = |k: Kind| format!("<id of indicator type {}>", k.type_name());
    let status = |ind: &Indicator| match ind.role {
        Role::Review => format!("<id of status {}>", args.review_status),
        Role::Baseline => format!("<id of status {}>", args.baseline_status),
    };
    let id = |v: &str| format!("<id of {v}>");
    let query_with = |with: &str| {
        format!(
            "{base}indicators/query?{}",
            q(&[("limit", &api::PAGE.to_string()), ("offset", "0"), ("sort", "id"), ("with", with)])
        )
    };
    let query = query_with(WITH);
    for chunk in batches(plan, args.batch) {
        let kind = chunk[0].kind;
        emit("POST", query.clone(), Some(query_body(&values_of(chunk), kind)))?;
        let bodies: Vec<Value> = chunk
            .iter()
            .map(|i| indicator_body(i, json!(type_id(kind)), json!(status(i)), &args.source))
            .collect();
        emit("POST", format!("{base}indicators/consume"), Some(Value::Array(bodies)))?;
        emit("POST", query.clone(), Some(query_body(&values_of(chunk), kind)))?;
        for ind in chunk.iter().filter(|i| i.role == Role::Review) {
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
            let ids: Vec<Value> = c.iter().map(|(_, v)| json!({"id": id(v)})).collect();
            emit("POST", format!("{base}events/<event id>/indicators"), Some(Value::Array(ids)))?;
        }
    }
    for chunk in batches(plan, args.batch) {
        emit("POST", query_with("status"), Some(query_body(&values_of(chunk), chunk[0].kind)))?;
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

    fn url_only() -> BTreeSet<Kind> {
        BTreeSet::from([Kind::UrlPath])
    }

    #[test]
    fn file_types_are_resolved_when_the_plan_has_file_indicators() {
        let all = BTreeSet::from([Kind::UrlPath, Kind::Sha256, Kind::FilePath]);
        let e = resolve(&types(), &statuses(), None, &args("Whitelisted", "Review"), &all).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("\"SHA-256\" not found") && e.contains("--no-file-indicators"), "{e}");
        let mut t = types();
        t.extend(
            serde_json::from_value::<Vec<Value>>(
                json!([{"id": 9, "name": "SHA-256"}, {"id": 8, "name": "File Path"}]),
            )
            .unwrap(),
        );
        let r = resolve(&t, &statuses(), None, &args("Whitelisted", "Review"), &all).unwrap();
        assert_eq!((r.ty(Kind::Sha256).id, r.ty(Kind::FilePath).id, r.ty(Kind::UrlPath).id), (9, 8, 47));
    }

    #[test]
    fn resolves_names_and_refuses_active_by_name_or_id() {
        let r = resolve(&types(), &statuses(), None, &args("Legitimate", "review"), &url_only()).unwrap();
        assert_eq!(
            (r.types[&Kind::UrlPath], r.baseline.id, r.review.id, r.baseline.include_in_export),
            (47, 21, 14, true)
        );
        for (b, rv) in [("Whitelisted", "ACTIVE"), ("11", "Review"), ("Whitelisted", "11")] {
            let e = resolve(&types(), &statuses(), None, &args(b, rv), &url_only()).unwrap_err().to_string();
            assert!(e.contains("refused") && e.contains("Active"), "{e}");
        }
        assert!(refuse_active_names(&args("Whitelisted", " active ")).is_err());
        assert!(refuse_active_names(&args("Whitelisted", "Review")).is_ok());
    }

    #[test]
    fn a_missing_name_lists_what_exists() {
        let e = resolve(&types(), &statuses(), None, &args("Benign", "Review"), &url_only())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"Benign\" not found") && e.contains("Legitimate, Review, Whitelisted"), "{e}");
        let e = resolve(&types()[..1], &statuses(), None, &args("Whitelisted", "Review"), &url_only())
            .unwrap_err();
        assert!(e.to_string().contains("this instance has: URL"), "{e}");
        let e = resolve(&types(), &[], None, &args("Whitelisted", "Review"), &url_only()).unwrap_err();
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
