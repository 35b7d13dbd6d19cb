//! Instants on the pipe: parsing the spellings access logs use, printing RFC 3339 UTC.
//!
//! Every record carries its times as RFC 3339 in UTC (`2026-10-01T13:55:36Z`, with `.123` when the
//! source had sub-second precision). Inside the program an instant is a [`Timestamp`]: milliseconds
//! since the Unix epoch, so comparing and subtracting are integer operations.
//!
//! The calendar (a date to a day number and back) is `jiff`'s: it runs once per distinct day, the
//! parsers and the writer keeping the last day's answer ([`ClfDay`], [`IsoDay`], the writer's date
//! text). Reading the fixed layouts of log times and writing RFC 3339, which run once per line, stay
//! hand-written: with `jiff` doing them (`strtime::parse` of the CLF time, `Timestamp`'s `Display`;
//! `docs/experiments/jiff-time.diff`), `scripts/bench-compare --lines 1000000 --runs 7 --patch
//! docs/experiments/jiff-time.diff d6a02e3` measured log-export 0.324 s against 0.216 s and webshell-hunt
//! 0.457 s against 0.418 s on 1 M combined lines (2026-12-07), and callgrind 1,015 M against 675 M
//! instructions for log-export on 200 k lines: a crate there costs 9 to 50 per cent end to end.

use std::cell::Cell;
use std::fmt;

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// 1970-01-01: day 0 of the day numbers below.
const EPOCH: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` for a date that does not exist
/// (`2026-02-30`) or lies outside the years -9999 to 9999.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let date =
        jiff::civil::Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()?;
    Some(i64::from((date - EPOCH).get_days()))
}

/// The date of a day number (days since 1970-01-01): (year, month 1-12, day 1-31). Days beyond the
/// years -9999 to 9999 give the first or last day of that range.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let date = jiff::Span::new()
        .try_days(z)
        .ok()
        .and_then(|span| EPOCH.checked_add(span).ok())
        .unwrap_or(if z < 0 { jiff::civil::Date::MIN } else { jiff::civil::Date::MAX });
    (i64::from(date.year()), date.month() as u32, date.day() as u32)
}

impl Timestamp {
    /// Builds an instant from UTC calendar fields, checking every field's range.
    pub fn from_utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<Self> {
        // 60 is a leap second; it is folded onto the next second as most systems do.
        if h > 23 || mi > 59 || s > 60 || ms > 999 {
            return None;
        }
        let days = days_from_civil(y, mo, d)?;
        let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        Some(Timestamp(secs * 1000 + i64::from(ms)))
    }

    /// Seconds since the epoch, rounded down.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// From (possibly fractional) epoch seconds, as Splunk and Caddy write them.
    pub fn from_epoch_secs_f64(s: f64) -> Option<Self> {
        if !s.is_finite() || s.abs() > 1e13 {
            return None;
        }
        Some(Timestamp((s * 1000.0).round() as i64))
    }

    /// Parses an RFC 3339 instant: `2026-10-01T13:55:36Z`, `2026-10-01T13:55:36.5+02:00`; a space is
    /// accepted for the `T` and a lower-case `z` for `Z`. Fractions beyond milliseconds are truncated.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        Self::parse_rfc3339_with(s, &mut IsoDay::default())
    }

    /// [`Timestamp::parse_rfc3339`], remembering the last date seen and its midnight in `day`: records
    /// come a day at a time, as W3C lines do.
    pub fn parse_rfc3339_with(s: &str, day: &mut IsoDay) -> Option<Self> {
        let b = s.as_bytes();
        // What our tools write, `YYYY-MM-DDTHH:MM:SSZ`, in the minute of the last time read (a log has
        // hundreds of lines a minute): only the seconds are new.
        if b.len() == 20
            && b[19] == b'Z'
            && let Some((m, at)) = day.minute
            && u128::from_le_bytes(b[..16].try_into().expect("16 bytes")) == m
            && b[16] == b':'
            && let Some(sec @ 0..=60) = num(&b[17..19])
        {
            return Some(Timestamp(at + i64::from(sec) * 1000));
        }
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
        let mut i = 19;
        let mut ms = 0u32;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    ms = ms * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..3 {
                ms *= 10;
            }
        }
        let offset = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), rest @ ..] => {
                let (oh, om) = match rest {
                    [a, b2, b':', c, d2] => (num(&[*a, *b2])?, num(&[*c, *d2])?),
                    [a, b2, c, d2] => (num(&[*a, *b2])?, num(&[*c, *d2])?),
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = i64::from(oh * 60 + om) * 60_000;
                if *sign == b'+' { o } else { -o }
            }
            _ => return None,
        };
        // The checks of from_utc, for the part read here.
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let midnight = day.midnight(&b[0..10])?;
        let minute = midnight + (i64::from(h) * 3600 + i64::from(mi) * 60) * 1000;
        day.minute = Some((u128::from_le_bytes(b[..16].try_into().expect("16 bytes")), minute));
        Some(Timestamp(minute + i64::from(sec) * 1000 + i64::from(ms) - offset))
    }

    /// Parses Apache/Nginx `%t` without its brackets: `10/Oct/2000:13:55:36 -0700`.
    pub fn parse_clf(s: &[u8]) -> Option<Self> {
        Self::parse_clf_with(s, &mut ClfDay::default())
    }

    /// [`Timestamp::parse_clf`], remembering the last day and zone seen in `day`: a log's lines share
    /// them for hours, and then only the time of day is left to read.
    pub fn parse_clf_with(s: &[u8], day: &mut ClfDay) -> Option<Self> {
        if s.len() != 26 {
            return Self::parse_clf_fraction(s, day);
        }
        if s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[20] != b' ' {
            return None;
        }
        if s[14] != b':' || s[17] != b':' {
            return None;
        }
        let (h, mi, sec) = (num(&s[12..14])?, num(&s[15..17])?, num(&s[18..20])?);
        // The checks of from_utc, for the part read here.
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let key = (<[u8; 11]>::try_from(&s[0..11]).ok()?, <[u8; 6]>::try_from(&s[20..26]).ok()?);
        let base = match day.last {
            Some((k, base)) if k == key => base,
            _ => {
                let d = num(&s[0..2])?;
                let mon = &s[3..6];
                let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
                let y = num(&s[7..11])? as i64;
                let sign = match s[21] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (oh, om) = (num(&s[22..24])?, num(&s[24..26])?);
                let midnight = Timestamp::from_utc(y, mo, d, 0, 0, 0, 0)?;
                let base = midnight.0 - sign * i64::from(oh * 60 + om) * 60_000;
                day.last = Some((key, base));
                base
            }
        };
        Some(Timestamp(base + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec)) * 1000))
    }

    /// A CLF time with fractional seconds, `10/Oct/2000:13:55:36.875 -0700` (Splunk's own access log,
    /// Apache's `%{%d/%b/%Y:%T}t.%{msec_frac}t %{%z}t`), read to the millisecond.
    fn parse_clf_fraction(s: &[u8], day: &mut ClfDay) -> Option<Self> {
        let frac = s.get(20..s.len().checked_sub(6)?)?.strip_prefix(b".")?;
        if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut whole = [0u8; 26];
        whole[..20].copy_from_slice(&s[..20]);
        whole[20..].copy_from_slice(&s[s.len() - 6..]);
        let ms = frac.iter().chain(b"00").take(3).fold(0, |a, &d| a * 10 + i64::from(d - b'0'));
        Some(Timestamp(Self::parse_clf_with(&whole, day)?.0 + ms))
    }

    /// Parses the W3C pair `date time` (`2026-10-01`, `13:55:36` or `13:55:36.123`), which IIS,
    /// CloudFront and the W3C format define to be UTC.
    pub fn parse_w3c(date: &[u8], time: &[u8]) -> Option<Self> {
        Self::parse_w3c_with(date, time, &mut IsoDay::default())
    }

    /// [`Timestamp::parse_w3c`], remembering the last date seen and its midnight in `day`: a log's
    /// lines come a day at a time, and turning a date into a day number is most of the work.
    pub fn parse_w3c_with(date: &[u8], time: &[u8], day: &mut IsoDay) -> Option<Self> {
        if date.len() != 10 || date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        if time.len() < 8 || time[2] != b':' || time[5] != b':' {
            return None;
        }
        let (h, mi, s) = (num(&time[0..2])?, num(&time[3..5])?, num(&time[6..8])?);
        let mut ms = 0;
        if time.len() > 8 {
            if time[8] != b'.' || time.len() == 9 {
                return None;
            }
            let frac = &time[9..];
            if !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            for k in 0..3 {
                ms = ms * 10 + frac.get(k).map_or(0, |c| u32::from(c - b'0'));
            }
        }
        // The checks of from_utc, for the part read here.
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let midnight = day.midnight(date)?;
        Some(Timestamp(
            midnight + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1000 + i64::from(ms),
        ))
    }

    /// Writes the RFC 3339 UTC form into `out` without allocating.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        thread_local! {
            /// The last day written and its date: a log's records come a day at a time, and turning a
            /// day number into year, month and day is most of this function's work.
            static LAST_DATE: Cell<(i64, [u8; 10])> = const { Cell::new((i64::MIN, [0; 10])) };
        }
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000) as u32;
        let day = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let date = LAST_DATE.with(|last| {
            let (d, text) = last.get();
            if d == day {
                return text;
            }
            let text = date_text(day);
            last.set((day, text));
            text
        });
        let mut buf = [0u8; 24];
        buf[..10].copy_from_slice(&date);
        buf[10] = b'T';
        put2(&mut buf[11..13], sod / 3600);
        buf[13] = b':';
        put2(&mut buf[14..16], sod / 60 % 60);
        buf[16] = b':';
        put2(&mut buf[17..19], sod % 60);
        // Two constant lengths, so that each copy is a couple of moves rather than a call.
        if ms != 0 {
            buf[19] = b'.';
            buf[20] = b'0' + (ms / 100) as u8;
            put2(&mut buf[21..23], ms % 100);
            buf[23] = b'Z';
            out.extend_from_slice(&buf);
        } else {
            buf[19] = b'Z';
            out.extend_from_slice(&buf[..20]);
        }
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01; years clamped to 0000-9999).
fn date_text(day: i64) -> [u8; 10] {
    let (y, mo, d) = civil_from_days(day);
    let mut buf = [0u8; 10];
    let y4 = y.clamp(0, 9999) as u32;
    put2(&mut buf[0..2], y4 / 100);
    put2(&mut buf[2..4], y4 % 100);
    buf[4] = b'-';
    put2(&mut buf[5..7], mo);
    buf[7] = b'-';
    put2(&mut buf[8..10], d);
    buf
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::with_capacity(24);
        self.write_rfc3339(&mut v);
        // write_rfc3339 only writes ASCII.
        f.write_str(std::str::from_utf8(&v).unwrap_or_default())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time {s:?}, expected RFC 3339")))
    }
}

/// Parses a duration such as `14d`, `36h`, `90m`, `3600s`, `2w` or a sum `1d12h` into milliseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut num: Option<i64> = None;
    for c in s.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0).checked_mul(10)?.checked_add(i64::from(d))?);
            continue;
        }
        let unit = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() || s.trim().is_empty() {
        return None;
    }
    Some(total)
}

fn put2(dst: &mut [u8], v: u32) {
    dst[0] = b'0' + (v / 10 % 10) as u8;
    dst[1] = b'0' + (v % 10) as u8;
}

/// The day and zone of the last Apache time read (`10/Oct/2000` and ` -0700`), and its midnight in
/// UTC milliseconds.
#[derive(Debug, Default, Clone)]
pub struct ClfDay {
    last: Option<(DayKey, i64)>,
}

/// The last ISO 8601 date read (`2026-10-01`, as W3C logs and RFC 3339 times write it) and its midnight
/// in UTC milliseconds.
#[derive(Debug, Default, Clone)]
pub struct IsoDay {
    last: Option<([u8; 10], i64)>,
    /// For RFC 3339 times: the first sixteen bytes of the last one read (`2026-10-01T13:55`, a
    /// little-endian word) and the start of that minute, its zone not applied.
    minute: Option<(u128, i64)>,
}

impl IsoDay {
    /// The midnight (UTC milliseconds) of `date`, `YYYY-MM-DD` with its dashes checked by the caller;
    /// `None` when it is no date.
    #[inline]
    fn midnight(&mut self, date: &[u8]) -> Option<i64> {
        let date: [u8; 10] = date.try_into().ok()?;
        match self.last {
            Some((d, m)) if d == date => Some(m),
            _ => {
                let y = num(&date[0..4])? as i64;
                let (mo, d) = (num(&date[5..7])?, num(&date[8..10])?);
                let m = Timestamp::from_utc(y, mo, d, 0, 0, 0, 0)?.0;
                self.last = Some((date, m));
                Some(m)
            }
        }
    }
}

/// The bytes of an Apache time that fix its day: `10/Oct/2000` and ` -0700`.
type DayKey = ([u8; 11], [u8; 6]);

fn num(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_with_offset_becomes_utc() {
        let t = Timestamp::parse_clf(b"10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t.to_string(), "2000-10-10T20:55:36Z");
        let t = Timestamp::parse_clf(b"01/Jan/2026:00:30:00 +0100").unwrap();
        assert_eq!(t.to_string(), "2025-12-31T23:30:00Z");
        assert!(Timestamp::parse_clf(b"31/Feb/2026:00:30:00 +0100").is_none());
        assert!(Timestamp::parse_clf(b"10/Foo/2000:13:55:36 -0700").is_none());
    }

    /// RFC 3339 read the plain way: every part, then [`Timestamp::from_utc`] (the rule the memo of
    /// [`Timestamp::parse_rfc3339_with`] must give the same answers as).
    fn rfc3339_reference(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let part = |r: std::ops::Range<usize>| -> Option<u32> {
            let p = s.get(r)?;
            p.bytes().all(|c| c.is_ascii_digit()).then(|| p.parse().ok())?
        };
        let (y, mo, d) = (part(0..4)?, part(5..7)?, part(8..10)?);
        let (h, mi, sec) = (part(11..13)?, part(14..16)?, part(17..19)?);
        let mut rest = &s[19..];
        let mut ms = 0;
        if let Some(f) = rest.strip_prefix('.') {
            let digits = f.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            ms = format!("{:0<3}", &f[..digits.min(3)]).parse().ok()?;
            rest = &f[digits..];
        }
        let offset: i64 = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let z = rest[1..].replacen(':', "", if rest.len() == 6 { 1 } else { 0 });
                if z.len() != 4 || !z.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let (oh, om): (i64, i64) = (z[..2].parse().ok()?, z[2..].parse().ok()?);
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh * 60 + om) * 60_000
            }
        };
        let t = Timestamp::from_utc(i64::from(y), mo, d, h, mi, sec, ms)?;
        Some(Timestamp(t.0 - offset))
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_day_memo_gives_what_the_plain_rule_gives(
            times in proptest::collection::vec(
                (proptest::sample::select(vec!["2026-10-01", "2026-10-02", "2024-02-29", "2026-02-29", "2026-13-01", "2026-1x-01", "0000-01-01"]),
                 proptest::sample::select(vec!["T", "t", " ", "_"]),
                 "[0-2x][0-9]:[0-6][0-9]",
                 proptest::sample::select(vec![":", ":", ":", "."]),
                 "[0-6x][0-9]",
                 // Most often the shape of the minute memo's fast path: no fraction, `Z`.
                 proptest::sample::select(vec!["", "", "", "", ".5", ".123", ".1239", ".", ".x"]),
                 proptest::sample::select(vec!["Z", "Z", "Z", "Z", "z", "+02:00", "-0130", "+24:00", "+0260", "+2:00", "", "Zz"]),
                 proptest::bool::ANY),
                1..20)) {
            let mut day = IsoDay::default();
            let mut last = String::new();
            for (date, t, minute, colon, sec, frac, zone, same_minute) in times {
                let mut s = format!("{date}{t}{minute}{colon}{sec}{frac}{zone}");
                // Half the times in the minute of the time before (the memo's fast path), valid or not.
                if same_minute && !last.is_empty() {
                    s.replace_range(..16, &last[..16]);
                }
                last.clone_from(&s);
                let want = rfc3339_reference(&s);
                proptest::prop_assert_eq!(Timestamp::parse_rfc3339_with(&s, &mut day), want, "{}", s);
                proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&s), want, "{}", s);
            }
        }
    }

    #[test]
    fn rfc3339_minute_memo() {
        let mut day = IsoDay::default();
        let t = |s: &str, day: &mut IsoDay| Timestamp::parse_rfc3339_with(s, day).map(|t| t.to_string());
        assert_eq!(t("2026-10-01T13:55:07+02:00", &mut day).as_deref(), Some("2026-10-01T11:55:07Z"));
        // The same minute, now in UTC: the zone of the time before is not carried over.
        assert_eq!(t("2026-10-01T13:55:08Z", &mut day).as_deref(), Some("2026-10-01T13:55:08Z"));
        assert_eq!(t("2026-10-01T13:55:60Z", &mut day).as_deref(), Some("2026-10-01T13:56:00Z"));
        for bad in
            ["2026-10-01T13:55:61Z", "2026-10-01T13:55:0xZ", "2026-10-01T13:55.07Z", "2026-10-01T13:55:7Z"]
        {
            assert_eq!(t(bad, &mut day), None, "{bad}");
        }
        assert_eq!(t("2026-10-01T13:55:09z", &mut day).as_deref(), Some("2026-10-01T13:55:09Z"));
    }

    #[test]
    fn w3c_day_memo_gives_what_from_utc_gives() {
        let mut day = IsoDay::default();
        for (date, time) in [
            ("2026-10-01", "13:55:36"),
            ("2026-10-01", "13:55:36.5"),
            ("2026-10-01", "23:59:60"),
            ("2026-10-01", "24:00:00"),
            ("2026-10-01", "13:60:00"),
            ("2026-10-02", "00:00:00.123"),
            ("2026-02-29", "00:00:00"),
            ("2024-02-29", "01:02:03"),
            ("2024-02-29", "01:02:03.9999"),
            ("2024-13-01", "01:02:03"),
            ("2024-1x-01", "01:02:03"),
            ("2026-10-01", "0a:00:00"),
        ] {
            let (d, t) = (date.as_bytes(), time.as_bytes());
            let fresh = (|| {
                let ms = match time.get(9..) {
                    Some(f) => format!("{f:0<3}")[..3].parse().ok()?,
                    None => 0,
                };
                Timestamp::from_utc(
                    date[0..4].parse().ok()?,
                    date[5..7].parse().ok()?,
                    date[8..10].parse().ok()?,
                    time[0..2].parse().ok()?,
                    time[3..5].parse().ok()?,
                    time[6..8].parse().ok()?,
                    ms,
                )
            })();
            // Twice: a fresh day, then the remembered one (and the day before remembered at first).
            assert_eq!(Timestamp::parse_w3c_with(d, t, &mut day), fresh, "{date} {time}");
            assert_eq!(Timestamp::parse_w3c_with(d, t, &mut day), fresh, "{date} {time}");
            assert_eq!(Timestamp::parse_w3c(d, t), fresh, "{date} {time}");
        }
    }

    #[test]
    fn clf_day_memo_gives_what_a_fresh_parse_gives() {
        let mut day = ClfDay::default();
        for s in [
            "10/Oct/2000:13:55:36 -0700",
            "10/Oct/2000:23:59:60 -0700",
            "10/Oct/2000:24:00:00 -0700",
            "10/Oct/2000:13:61:00 -0700",
            "10/Oct/2000:13:55:36 +0000",
            "11/Oct/2000:00:00:00 +0000",
            "31/Feb/2026:00:30:00 +0100",
            "11/Oct/2000:0a:00:00 +0000",
            "11/oct/2000:01:00:00 +0000",
            "11/Oct/2000:01:00:00 *0000",
        ] {
            assert_eq!(
                Timestamp::parse_clf_with(s.as_bytes(), &mut day),
                Timestamp::parse_clf(s.as_bytes()),
                "{s}"
            );
            // The slow path (what parse_clf did before the memo) agrees too.
            let b = s.as_bytes();
            let slow = (|| {
                let d = num(&b[0..2])?;
                let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(&b[3..6]))? as u32 + 1;
                let t = Timestamp::from_utc(
                    num(&b[7..11])? as i64,
                    mo,
                    d,
                    num(&b[12..14])?,
                    num(&b[15..17])?,
                    num(&b[18..20])?,
                    0,
                )?;
                let sign = match b[21] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                Some(Timestamp(t.0 - sign * i64::from(num(&b[22..24])? * 60 + num(&b[24..26])?) * 60_000))
            })();
            assert_eq!(Timestamp::parse_clf(b), slow, "{s}");
        }
    }

    #[test]
    fn the_remembered_date_follows_every_change_of_day() {
        // Back and forth across midnights, month and year ends, and before 1970: each text reads back
        // as the instant written, so a stale remembered date would show.
        let base = Timestamp::parse_rfc3339("2026-12-31T23:59:59Z").unwrap().0;
        let mut t = base;
        for step in [1_000, -1_000, 86_400_000, -2 * 86_400_000, 1, -base - 1, 0, 35 * 86_400_000, -7] {
            t += step;
            let text = Timestamp(t).to_string();
            assert_eq!(Timestamp::parse_rfc3339(&text), Some(Timestamp(t)), "{t} -> {text}");
        }
    }

    #[test]
    fn rfc3339_round_trip_and_offsets() {
        for s in ["2026-10-01T00:00:00Z", "1999-12-31T23:59:59.123Z", "2024-02-29T12:00:00Z"] {
            assert_eq!(Timestamp::parse_rfc3339(s).unwrap().to_string(), s);
        }
        let t = Timestamp::parse_rfc3339("2026-10-01T02:00:00.5+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-10-01T00:00:00.500Z");
        assert!(Timestamp::parse_rfc3339("2026-10-01T00:00:00").is_none());
        assert!(Timestamp::parse_rfc3339("2025-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn w3c_is_utc_with_optional_fraction() {
        let t = Timestamp::parse_w3c(b"2026-10-01", b"13:55:36.25").unwrap();
        assert_eq!(t.to_string(), "2026-10-01T13:55:36.250Z");
        assert!(Timestamp::parse_w3c(b"2026-10-01", b"13:55").is_none());
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for z in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), Some(z));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("14d"), Some(14 * 86_400_000));
        assert_eq!(parse_duration("1d12h"), Some(36 * 3_600_000));
        assert_eq!(parse_duration("90m"), Some(90 * 60_000));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration(""), None);
    }
}
