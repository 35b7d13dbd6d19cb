//! Inline SVG timelines for the HTML report: requests per hour of one path (bars) against the site's
//! overall traffic (a grey area), with day gridlines and the end of the baseline.
//!
//! The two series have their own scales (a web shell's 3 requests an hour would be invisible against a
//! site's 3,000), and both maxima are printed on the chart. Hours are counted since the Unix epoch
//! (`secs / 3600`), in UTC. A long window is drawn in bins of several hours so that a chart never has
//! more bars than it has room for; [`bin_hours`] says how many, for the caption. Every string that can
//! come from a log (the tooltips) goes through [`super::html::Esc`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html::Esc;
use crate::time::civil_from_days;

/// An hour since the Unix epoch.
pub type Hour = i64;

/// A marker on the time axis (a finding's first request, on the overview chart).
#[derive(Debug, Clone)]
pub struct Tick {
    /// Where.
    pub hour: Hour,
    /// Drawn tall and red (at or above the alert threshold) or short and grey.
    pub alert: bool,
    /// The tooltip (plain text; escaped here).
    pub title: String,
}

/// One chart.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// First hour shown.
    pub from: Hour,
    /// One past the last hour shown.
    pub to: Hour,
    /// The path's requests per hour, sorted by hour (bars).
    pub bars: &'a [(Hour, u64)],
    /// The site's requests per hour (the grey area), when known.
    pub area: Option<&'a BTreeMap<Hour, u64>>,
    /// A dashed vertical line with a label (the end of the baseline), at an hour (fractional).
    pub marker: Option<(f64, &'a str)>,
    /// Markers along the axis.
    pub ticks: &'a [Tick],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// What the chart shows, for screen readers (plain text; escaped here).
    pub label: &'a str,
}

const LEFT: f64 = 36.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 16.0;
/// Bars drawn one by one, each with its tooltip; a longer series is one shape with one tooltip.
const MAX_TOOLTIP_BARS: usize = 48;
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Hours per bin for a window of `hours` on a chart `width` pixels wide: at least 2 pixels a bin.
pub fn bin_hours(hours: i64, width: u32) -> i64 {
    let bins = ((f64::from(width) - LEFT - RIGHT) / 2.0).max(1.0) as i64;
    ((hours.max(1) + bins - 1) / bins).max(1)
}

/// Short form of a count for a scale label: 950, 9.5k, 95k, 1.2M.
pub fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// "2026-10-18 02:00" for an hour.
pub fn hour_label(h: Hour) -> String {
    let (y, m, d) = civil_from_days(h.div_euclid(24));
    format!("{y:04}-{m:02}-{d:02} {:02}:00", h.rem_euclid(24))
}

/// Renders the chart as an `<svg>` element.
pub fn render(c: &Chart) -> String {
    let (w, h) = (f64::from(c.width), f64::from(c.height));
    let (pw, ph) = (w - LEFT - RIGHT, h - TOP - BOTTOM);
    let base = TOP + ph;
    let span = (c.to - c.from).max(1);
    let bin = bin_hours(span, c.width);
    let nbins = ((span + bin - 1) / bin) as usize;
    let bw = pw / nbins as f64;
    let x_of = |hour: f64| LEFT + (hour - c.from as f64) / (nbins as f64 * bin as f64) * pw;
    let bin_of = |hour: Hour| ((hour - c.from) / bin) as usize;

    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">"#,
        c.width,
        c.height,
        c.width,
        c.height,
        Esc(c.label)
    );

    // Day gridlines and labels; a label every `every` days so that labels never collide.
    let px_day = pw * 24.0 / (nbins as f64 * bin as f64);
    let every = ((46.0 / px_day).ceil() as i64).max(1);
    let first_day = c.from.div_euclid(24) + i64::from(c.from.rem_euclid(24) != 0);
    let mut day = first_day;
    let (mut grid, mut labels) = (String::new(), String::new());
    while day * 24 < c.to {
        let x = x_of((day * 24) as f64);
        let _ = write!(grid, "M{x:.1} {TOP}V{base}");
        if day.rem_euclid(every) == 0 && x + 30.0 <= w - RIGHT + 20.0 {
            let (_, m, d) = civil_from_days(day);
            let _ = write!(
                labels,
                r#"<text class="day" x="{:.1}" y="{:.1}">{} {d}</text>"#,
                x + 2.0,
                h - 4.0,
                MONTHS[(m - 1) as usize]
            );
        }
        day += 1;
    }
    if !grid.is_empty() {
        let _ = write!(s, r#"<path class="grid" d="{grid}"/>{labels}"#);
    }

    // The site's traffic: an area through the bin centres.
    let mut area_max = 0;
    if let Some(area) = c.area {
        let mut bins = vec![0u64; nbins];
        for (&hour, &n) in area.range(c.from..c.to) {
            bins[bin_of(hour)] += n;
        }
        area_max = bins.iter().copied().max().unwrap_or(0);
        if area_max > 0 {
            // Whole pixels, each point relative to the one before (rounded absolute positions, so no
            // error accumulates): a few bytes a point, as the report holds hundreds of these.
            let _ = write!(s, r#"<path class="area" d="M{} {}"#, LEFT.round(), base.round());
            let (mut px, mut py) = (LEFT.round() as i64, base.round() as i64);
            for (i, &n) in bins.iter().enumerate() {
                let x = (LEFT + (i as f64 + 0.5) * bw).round() as i64;
                let y = (base - n as f64 / area_max as f64 * ph).round() as i64;
                if y == py {
                    let _ = write!(s, "h{}", x - px);
                } else {
                    let _ = write!(s, "l{} {}", x - px, y - py);
                }
                (px, py) = (x, y);
            }
            let _ = write!(s, r#"L{} {}Z"/>"#, (LEFT + pw).round(), base.round());
        }
    }

    // The path's requests: one bar per bin that had any, at least 1.5 px tall so one request shows.
    let mut bins: Vec<(usize, u64, Hour)> = Vec::new();
    for &(hour, n) in c.bars.iter().filter(|(hour, _)| (c.from..c.to).contains(hour)) {
        let i = bin_of(hour);
        match bins.last_mut() {
            Some(last) if last.0 == i => last.1 += n,
            _ => bins.push((i, n, c.from + i as i64 * bin)),
        }
    }
    let bar_max = bins.iter().map(|b| b.1).max().unwrap_or(0);
    let bar_w = (bw * 0.8).max(1.5);
    let when = |start: Hour| {
        if bin == 1 {
            format!("{} UTC", hour_label(start))
        } else {
            format!("{} UTC, {bin} h", hour_label(start))
        }
    };
    if bins.len() <= MAX_TOOLTIP_BARS {
        for &(i, n, start) in &bins {
            let bh = (n as f64 / bar_max as f64 * ph).max(1.5);
            let x = LEFT + i as f64 * bw + (bw - bar_w) / 2.0;
            let _ = write!(
                s,
                r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{bar_w:.1}" height="{bh:.1}"><title>{}: {n} request{}</title></rect>"#,
                base - bh,
                when(start),
                if n == 1 { "" } else { "s" }
            );
        }
    } else if let (Some(first), Some(last)) = (bins.first(), bins.last()) {
        // A long-lived path: one shape for all its bars, one tooltip for the whole series.
        let _ = write!(s, r#"<path class="bar" d=""#);
        for &(i, n, _) in &bins {
            let bh = (n as f64 / bar_max as f64 * ph).max(1.5);
            let x = LEFT + i as f64 * bw + (bw - bar_w) / 2.0;
            let _ = write!(s, "M{x:.1} {base}v{:.1}h{bar_w:.1}v{bh:.1}z", -bh);
        }
        let total: u64 = bins.iter().map(|b| b.1).sum();
        let _ = write!(
            s,
            r#""><title>{} requests in {} of the {nbins} bins from {} to {}; at most {bar_max} in one</title></path>"#,
            total,
            bins.len(),
            when(first.2),
            when(last.2)
        );
    }

    for t in c.ticks.iter().filter(|t| (c.from..c.to).contains(&t.hour)) {
        let x = x_of(t.hour as f64 + 0.5);
        let (class, y1) = if t.alert { ("tick alert", TOP) } else { ("tick", base - ph * 0.25) };
        let _ = write!(
            s,
            r#"<line class="{class}" x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{base:.1}"><title>{}</title></line>"#,
            Esc(&t.title)
        );
    }

    if let Some((hour, label)) = c.marker
        && hour >= c.from as f64
        && hour <= c.to as f64
    {
        let x = x_of(hour);
        let (anchor, dx) = if x > LEFT + pw * 0.7 { ("end", -3.0) } else { ("start", 3.0) };
        let _ = write!(
            s,
            r#"<line class="marker" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{base:.1}"/><text class="marker" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            TOP - 4.0,
            x + dx,
            TOP - 4.0,
            Esc(label)
        );
    }

    // Axis and scales: the bars' maximum on the left, the area's on the right.
    let _ = write!(s, r#"<line class="axis" x1="{LEFT}" y1="{base}" x2="{:.1}" y2="{base}"/>"#, LEFT + pw);
    if bar_max > 0 {
        let _ = write!(
            s,
            r#"<text class="scale bars" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            TOP + 8.0,
            compact(bar_max)
        );
    }
    if area_max > 0 {
        let _ = write!(
            s,
            r#"<text class="scale area" x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + pw + 4.0,
            TOP + 8.0,
            compact(area_max)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart<'a>(bars: &'a [(Hour, u64)], area: Option<&'a BTreeMap<Hour, u64>>) -> Chart<'a> {
        Chart {
            from: 100 * 24,
            to: 103 * 24,
            bars,
            area,
            marker: None,
            ticks: &[],
            width: 720,
            height: 100,
            label: "t",
        }
    }

    #[test]
    fn bins_fit_the_width() {
        assert_eq!(bin_hours(72, 720), 1);
        assert_eq!(bin_hours(672, 720), 3);
        assert!(bin_hours(24 * 365, 720) * 322 >= 24 * 365);
    }

    #[test]
    fn one_bar_per_active_hour_with_its_count() {
        let bars = [(100 * 24 + 5, 3), (100 * 24 + 6, 1), (99 * 24, 7)];
        let svg = render(&chart(&bars, None));
        assert_eq!(svg.matches("<rect").count(), 2, "the hour outside the window is not drawn: {svg}");
        assert!(svg.contains("<title>1970-04-11 05:00 UTC: 3 requests</title>"), "{svg}");
        assert!(svg.contains("<title>1970-04-11 06:00 UTC: 1 request</title>"), "{svg}");
        assert!(svg.contains(r#"text-anchor="end">3</text>"#), "bar scale: {svg}");
        assert!(!svg.contains("class=\"area\""));
    }

    #[test]
    fn area_is_scaled_to_its_own_maximum() {
        let area: BTreeMap<Hour, u64> =
            (100 * 24..103 * 24).map(|h| (h, 1000 + (h % 24) as u64 * 500)).collect();
        let svg = render(&chart(&[(100 * 24 + 1, 1)], Some(&area)));
        assert!(svg.contains(r#"class="scale area""#) && svg.contains(">12k</text>"), "{svg}");
        assert!(svg.contains("Apr 11") || svg.contains("Apr 12"), "day labels: {svg}");
    }

    #[test]
    fn tooltips_and_labels_are_escaped() {
        let ticks = [Tick { hour: 100 * 24 + 2, alert: true, title: "<script>x</script>".into() }];
        let mut c = chart(&[], None);
        c.ticks = &ticks;
        c.label = "a\"b";
        c.marker = Some(((100 * 24 + 10) as f64, "<b>"));
        let svg = render(&c);
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;") && svg.contains("a&quot;b"), "{svg}");
    }

    #[test]
    fn a_long_series_is_one_shape_with_one_tooltip() {
        let bars: Vec<(Hour, u64)> = (0..60).map(|i| (100 * 24 + i, 1 + i as u64 % 3)).collect();
        let svg = render(&chart(&bars, None));
        assert_eq!(svg.matches("<rect").count(), 0, "{svg}");
        assert_eq!(svg.matches("<path class=\"bar\"").count(), 1, "{svg}");
        assert_eq!(svg.matches('z').count(), 60, "one sub-path per bar: {svg}");
        assert!(svg.contains("<title>120 requests in 60 of the 72 bins from 1970-04-11 00:00 UTC"), "{svg}");
    }

    #[test]
    fn compact_counts() {
        assert_eq!(compact(950), "950");
        assert_eq!(compact(12_500), "12k");
        assert_eq!(compact(1_250_000), "1.2M");
    }
}
