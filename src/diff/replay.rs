//! `baseline-diff --from-logs`: the pipeline `log-export | path-normalize | baseline-diff` in one process.
//!
//! Reading a log, normalising its paths and aggregating them are the same library functions whichever way
//! they are composed: `export::file` reads and judges the files, `normalize` makes the paths canonical,
//! `aggregate` counts. Composed through pipes, every request is written as JSON and parsed back twice,
//! and that is most of the work; composed here, the event goes from the parser to the aggregate as
//! borrowed strings, on every core. The findings are the same, byte for byte: a test runs both ways over
//! logs of every format and compares them.

use std::borrow::Cow;

use anyhow::{Result, bail};

use super::aggregate::{Aggregate, Request, RequestSource};
use crate::export::event::{EmitOptions, RawEvent};
use crate::export::file::{Sink, Source};
use crate::normalize::cache::NormCache;
use crate::normalize::filter::{MethodFilter, StatusFilter};
use crate::normalize::{NormArgs, ProfileArg, Stats};

/// The filters and profile of `path-normalize`, parsed once and shared by the workers.
pub struct Normalizer {
    profile: ProfileArg,
    status: StatusFilter,
    method: MethodFilter,
}

impl Normalizer {
    /// From the command line's path-normalize options.
    pub fn new(n: &NormArgs) -> Result<Self> {
        let (status, method) = n.filters()?;
        Ok(Normalizer { profile: n.profile, status, method })
    }
}

/// A worker's aggregate of the events it was given.
pub struct Replay<'n> {
    norm: &'n Normalizer,
    /// What the worker counted.
    pub agg: Aggregate,
    /// What the filters kept and dropped.
    pub stats: Stats,
    cache: NormCache,
}

impl<'n> Replay<'n> {
    /// An empty aggregate.
    pub fn new(norm: &'n Normalizer) -> Self {
        Replay { norm, agg: Aggregate::default(), stats: Stats::default(), cache: NormCache::default() }
    }
}

impl Sink for Replay<'_> {
    fn event(
        &mut self,
        ev: &RawEvent<'_>,
        src: Source<'_>,
        server: Option<&str>,
        emit: &EmitOptions,
    ) -> Result<()> {
        // What log-export would print …
        let p = ev.parts(server, emit);
        if !self.norm.status.keeps(p.status) {
            self.stats.by_status += 1;
            return Ok(());
        }
        let d = p.decoded();
        if !self.norm.method.keeps(d.method.as_deref()) {
            self.stats.by_method += 1;
            return Ok(());
        }
        self.stats.kept += 1;
        // … what path-normalize would make of it …
        let norm = self.cache.get(self.norm.profile, p.server, &d.path);
        let canon = norm.extra();
        let host = canon.final_host(d.host.as_deref());
        let query = canon.final_query(d.query.as_deref());
        let mut anomalies: Vec<Cow<'_, str>> = d.anomalies.iter().map(|a| Cow::Borrowed(*a)).collect();
        canon.add_anomalies_to(&mut anomalies);
        let Some(time) = p.time else {
            bail!("{src}: record has no time (time, or first_seen and last_seen)");
        };
        let raw_path = norm.changed.then(|| d.path.clone());
        // … and what baseline-diff counts.
        self.agg.add(&Request {
            host,
            template: Cow::Borrowed(norm.template()),
            path: Cow::Borrowed(norm.path()),
            is_template: norm.is_template,
            raw_path,
            method: d.method,
            status: p.status,
            client: d.client,
            user_agent: d.user_agent,
            // Decoded as log-export writes it, so that both ways read the same text.
            referer: p.referer.map(|v| crate::jsonw::decoded(v, crate::jsonw::Escape::Backslash).0),
            query: query.map(Cow::Borrowed),
            bytes: p.bytes,
            profile: Some(norm.profile),
            first: time,
            last: time,
            count: 1,
            distinct_clients: None,
            clients: Vec::new(),
            user_agents: Vec::new(),
            queries: Vec::new(),
            anomalies,
            params: Vec::new(),
            params_of: query,
            source: Some(RequestSource::Line(src)),
            key_memo: Some(&norm.key_memo),
        });
        Ok(())
    }
}
