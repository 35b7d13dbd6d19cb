//! Apache and Nginx text formats: common (CLF), combined, vhost_combined, Nginx combined.
//!
//! ```text
//! common          %h %l %u %t "%r" %>s %b
//! combined        %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
//! vhost_combined  %v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"   (Debian, Ubuntu)
//! nginx combined  $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//!                 "$http_referer" "$http_user_agent"
//! ```
//!
//! Since 2.0.46 Apache escapes `"` and `\` in `%r` and headers with a backslash and non-printable bytes
//! as `\xhh`; Nginx's default escaping writes `\xHH` too. Those are the logging layer's escapes, not the
//! client's, so they are undone here: the event carries the bytes the client sent. Fields appended after
//! the user agent (`%D`, `"%{X-Forwarded-For}i"`, …) are ignored, as many sites add some; a common line
//! followed by a quoted referer and user agent (a combined line) gives them too.
//!
//! The client field may be an X-Forwarded-For chain (`203.0.113.9, 10.0.0.1 - - [...]`, from an Nginx
//! `log_format` that starts with `$http_x_forwarded_for`): the chain goes to `forwarded_for`, and
//! `client` is the address [`ClientRule`] picks.
//!
//! [`Mixed`] reads a file whose lines change between the variants (`--format auto`).

use std::borrow::Cow;

use super::event::RawEvent;
use super::{ClientRule, LineParser, ParseResult, Parsed};
use crate::time::{ClfDay, Timestamp};

/// Which of the CLF family a parser reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `%h %l %u %t "%r" %>s %b`.
    Common,
    /// Common plus quoted Referer and User-Agent (Apache and Nginx `combined`).
    Combined,
    /// `%v:%p` first, then combined.
    Vhost,
}

impl Variant {
    /// All of them, most specific first.
    const ALL: [Variant; 3] = [Variant::Vhost, Variant::Combined, Variant::Common];

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Common => "common",
            Variant::Combined => "combined",
            Variant::Vhost => "vhost",
        }
    }
}

/// A parser for one [`Variant`].
pub struct Clf {
    variant: Variant,
    client: ClientRule,
    day: ClfDay,
}

impl Clf {
    /// A parser for `variant`.
    pub fn new(variant: Variant, client: ClientRule) -> Self {
        Clf { variant, client, day: ClfDay::default() }
    }
}

impl LineParser for Clf {
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a> {
        parse_line(line, self.variant, self.client, &mut self.day)
    }
}

/// `--format auto` on a CLF-family file: each line is read as the detected variant, and a line that
/// variant cannot read is tried as the others (most specific first) before it counts as bad. Real
/// files change format mid-file (a `LogFormat` edited, several sites' logs concatenated, `host:port`
/// added for one virtual host), and one changed line must not fail a file. Lines read per variant are
/// counted for the end-of-file account. The cost falls only on lines the detected variant rejects.
pub struct Mixed {
    /// The detected variant first, then the others.
    order: [Variant; 3],
    /// Where `Combined` is in `order`.
    combined: usize,
    client: ClientRule,
    day: ClfDay,
    /// Lines read, in `order`.
    read: [u64; 3],
}

impl Mixed {
    /// A parser that reads `detected` first.
    pub fn new(detected: Variant, client: ClientRule) -> Self {
        let order = Self::order(detected);
        let combined = order.iter().position(|&v| v == Variant::Combined).unwrap_or(0);
        Mixed { order, combined, client, day: ClfDay::default(), read: [0; 3] }
    }

    /// The variants in the order they are tried: `detected`, then the others, most specific first.
    fn order(detected: Variant) -> [Variant; 3] {
        let mut order = Variant::ALL;
        let i = order.iter().position(|&v| v == detected).unwrap_or(0);
        order[..=i].rotate_right(1);
        order
    }

    /// Counts a line `order[i]` read; a common reading that found a user agent read a combined line.
    fn count(&mut self, i: usize, p: &Parsed<'_>) {
        let as_combined =
            self.order[i] == Variant::Common && matches!(p, Parsed::Event(ev) if ev.user_agent.is_some());
        self.read[if as_combined { self.combined } else { i }] += 1;
    }

    /// A line the detected variant rejected (`why`): tried as the others, most specific first. Out of
    /// line, so that the usual line's path stays as short as [`Clf`]'s.
    #[cold]
    #[inline(never)]
    fn fallback<'a>(&mut self, line: &'a [u8], why: std::borrow::Cow<'static, str>) -> ParseResult<'a> {
        for i in 1..self.order.len() {
            if let Ok(p) = parse_line(line, self.order[i], self.client, &mut self.day) {
                self.count(i, &p);
                return Ok(p);
            }
        }
        // The detected variant's reason; the caller's message names the variants tried.
        Err(why)
    }

    /// The variants a file detected as `detected` is tried as, for messages: `vhost, combined or common`.
    pub fn tried(detected: Variant) -> String {
        let [a, b, c] = Self::order(detected).map(Variant::name);
        format!("{a}, {b} or {c}")
    }
}

impl LineParser for Mixed {
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a> {
        match parse_line(line, self.order[0], self.client, &mut self.day) {
            Ok(p) => {
                self.count(0, &p);
                Ok(p)
            }
            Err(why) => self.fallback(line, why),
        }
    }

    fn read_as(&self) -> Vec<(&'static str, u64)> {
        self.order.iter().zip(self.read).map(|(v, n)| (v.name(), n)).collect()
    }
}

fn parse_line<'a>(line: &'a [u8], variant: Variant, client: ClientRule, day: &mut ClfDay) -> ParseResult<'a> {
    // No client address starts with `#`: a comment someone wrote into the file (test logs, hand-edited
    // evidence), not a request and not held against the format.
    if line.first() == Some(&b'#') {
        return Ok(Parsed::Header);
    }
    match plain_line(line, variant, day) {
        Some(ev) => Ok(Parsed::Event(ev)),
        None => general_line(line, variant, client, day),
    }
}

/// Any line of the family: what [`plain_line`] leaves, read field by field with the fallbacks real logs
/// need (escaped quotes, unescaped quotes inside the request, extra spaces, `-` requests).
fn general_line<'a>(line: &'a [u8], variant: Variant, rule: ClientRule, day: &mut ClfDay) -> ParseResult<'a> {
    let open = find_time_open(line).ok_or("no [time] field")?;
    let head = &line[..open];
    // The fields before the time, as ranges of `head`, each up to a space; a run of spaces is one
    // separator (lnav's samples have `-  -  [`).
    let mut at = 0;
    let mut field = || -> Option<std::ops::Range<usize>> {
        while head.get(at) == Some(&b' ') {
            at += 1;
        }
        let start = at;
        if start >= head.len() {
            return None;
        }
        let end = memchr::memchr(b' ', &head[start..]).map_or(head.len(), |i| start + i);
        at = end + 1;
        Some(start..end)
    };
    let mut ev = RawEvent::default();
    if variant == Variant::Vhost {
        let v = field().filter(|v| !v.is_empty()).ok_or("no virtual host")?;
        if head[v.clone()].contains(&b',') {
            return Err("a comma in the virtual host (an X-Forwarded-For chain?)".into());
        }
        ev.host = Some(Cow::Borrowed(strip_vhost_port(&head[v])));
    }
    let first = field().filter(|c| !c.is_empty()).ok_or("no client address")?;
    // An X-Forwarded-For chain: `a, b, c`, each address but the last followed by a comma.
    let mut chain = first.clone();
    while head[chain.clone()].ends_with(b",") {
        match field() {
            Some(next) if !next.is_empty() => chain.end = next.end,
            _ => break,
        }
    }
    let ident = field().ok_or("no ident field")?;
    let _user = field().ok_or("no user field")?;
    if field().is_some() {
        // A user name with a space (`%u` is not escaped: AWStats' test log has `John Begood`): only
        // where the client is an address and the ident `-`, so that a vhost line without its port
        // (`www.example.org 192.0.2.1 - - [...]`) is never read as one.
        let spaced_user = variant != Variant::Vhost
            && &head[ident] == b"-"
            && std::str::from_utf8(&head[first.clone()]).is_ok_and(|c| c.parse::<std::net::IpAddr>().is_ok());
        if !spaced_user {
            return Err(match variant {
                Variant::Vhost => "more fields than vhost_combined has before [time]".into(),
                _ => "more fields than common/combined has before [time] (vhost_combined?)".into(),
            });
        }
    }
    let client = &head[first];
    if variant != Variant::Vhost && client.contains(&b':') && looks_like_host_port(client) {
        return Err("first field is host:port (vhost_combined?)".into());
    }
    set_client(&mut ev, &head[chain], rule);
    let rest = &line[open + 2..];
    let close = memchr::memchr(b']', rest).ok_or("no closing ] of the time")?;
    ev.time = Some(Timestamp::parse_clf_with(&rest[..close], day).ok_or("bad time")?);
    let rest = rest[close + 1..].strip_prefix(b" \"").ok_or("no quoted request after the time")?;
    let (request, rest) = request_field(rest).ok_or("no closing quote of the request")?;
    let mut fields = rest.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let status = fields.next().ok_or("no status")?;
    ev.status = match status {
        b"-" => None,
        s if s.len() == 3 && s.iter().all(u8::is_ascii_digit) => Some(atoi(s) as u16),
        _ => return Err("bad status".into()),
    };
    let bytes = fields.next().ok_or("no bytes field")?;
    ev.bytes = match bytes {
        b"-" => None,
        b if !b.is_empty() && b.len() < 20 && b.iter().all(u8::is_ascii_digit) => Some(atoi(b)),
        _ => return Err("bad bytes field".into()),
    };
    match referer_and_agent(rest) {
        Ok((referer, ua)) => {
            ev.referer = Some(referer);
            ev.user_agent = Some(ua);
        }
        // Common and vhost: a line that stops after the bytes (Apache's `common`, `vhost_common`), or
        // goes on with something else.
        Err(_) if variant != Variant::Combined => {}
        Err(why) => return Err(why.into()),
    }
    split_request(request, ev)
}

/// A referer and a user agent.
type RefererAgent<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// The quoted referer and user agent after ` status bytes`.
fn referer_and_agent(rest: &[u8]) -> Result<RefererAgent<'_>, &'static str> {
    let after = skip_two_fields(rest).ok_or("no referer and user agent")?;
    let after = after.strip_prefix(b"\"").ok_or("referer is not quoted")?;
    let (referer, after) = quoted(after).ok_or("no closing quote of the referer")?;
    let after = after.strip_prefix(b" \"").ok_or("user agent is not quoted")?;
    let ua = match quoted(after) {
        Some((ua, _)) => ua,
        // A user agent cut at the end of the line (plaso's test log has one): the rest of the line.
        None if !after.contains(&b'"') => unescape(after),
        None => return Err("no closing quote of the user agent"),
    };
    Ok((referer, ua))
}

/// Sets `client` from the client field; a field that is an X-Forwarded-For chain also sets
/// `forwarded_for`, and `client` is the address `rule` picks.
fn set_client<'a>(ev: &mut RawEvent<'a>, field: &'a [u8], rule: ClientRule) {
    if !field.contains(&b',') {
        ev.client = Some(Cow::Borrowed(field));
        return;
    }
    let mut addrs = field.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|a| !a.is_empty());
    let pick = match rule {
        ClientRule::First => addrs.next(),
        ClientRule::Last => addrs.next_back(),
    };
    ev.client = pick.map(Cow::Borrowed);
    ev.forwarded_for = Some(Cow::Borrowed(field));
}

/// The usual line, read in one pass from left to right: single spaces between the fields, a 26-byte
/// time, no backslash escapes, a request with a method and a target. For any other line, and any line
/// the general reading below would reject or not count as a request, `None`: [`parse_line`] then reads
/// it the general way (and says what is wrong). Where this answers, it gives what the general reading
/// gives (a proptest compares them on damaged lines); it exists because it is about twice as fast, with
/// no iterator adaptors and no second scan of a field, and it reads nearly every line of a real log.
fn plain_line<'a>(line: &'a [u8], variant: Variant, day: &mut ClfDay) -> Option<RawEvent<'a>> {
    use crate::bytes::{find, find2};
    let mut ev = RawEvent::default();
    // The fields before the time, each up to a space. The general reading finds the time at the first
    // " [", so no field after the first may start with '['.
    let mut at = 0;
    // `stop`: a byte the field must not hold, looked for in the same search as the space (a comma: an
    // X-Forwarded-For chain, the general reading's).
    let field = |at: &mut usize, stop: u8| -> Option<&'a [u8]> {
        let (first, f) = (*at == 0, &line[*at..]);
        let sp = find2(f, b' ', stop)?;
        if f[sp] != b' ' {
            return None;
        }
        *at += sp + 1;
        (first || f.first() != Some(&b'[')).then_some(&f[..sp])
    };
    if variant == Variant::Vhost {
        let v = field(&mut at, b',').filter(|v| !v.is_empty())?;
        ev.host = Some(Cow::Borrowed(strip_vhost_port(v)));
    }
    let client = field(&mut at, b',').filter(|c| !c.is_empty())?;
    if variant != Variant::Vhost && find(client, b':').is_some() && looks_like_host_port(client) {
        return None;
    }
    // Empty fields (a run of spaces) are the general reading's, which takes a run as one separator.
    field(&mut at, b' ').filter(|f| !f.is_empty())?; // ident
    field(&mut at, b' ').filter(|f| !f.is_empty())?; // user
    if line.get(at) != Some(&b'[') {
        return None;
    }
    ev.client = Some(Cow::Borrowed(client));
    // [dd/Mon/yyyy:hh:mm:ss +zzzz] "
    let rest = line.get(at + 1..)?;
    if rest.len() < 29 || rest[26] != b']' || &rest[27..29] != b" \"" {
        return None;
    }
    ev.time = Some(Timestamp::parse_clf_with(&rest[..26], day)?);
    let rest = &rest[29..];
    // "%r" status bytes: the first quote closes the request (no escapes), and a status follows it.
    let q = find2(rest, b'"', b'\\')?;
    if rest[q] != b'"' {
        return None;
    }
    let request = &rest[..q];
    let rest = rest[q + 1..].strip_prefix(b" ")?;
    let (status, rest) = match rest {
        [b'-', b' ', r @ ..] => (None, r),
        [a, b, c, b' ', r @ ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            (Some(atoi(&[*a, *b, *c]) as u16), r)
        }
        _ => return None,
    };
    let end = find(rest, b' ').unwrap_or(rest.len());
    ev.bytes = match &rest[..end] {
        b"-" => None,
        b if !b.is_empty() && b.len() < 20 && b.iter().all(u8::is_ascii_digit) => Some(atoi(b)),
        _ => return None,
    };
    ev.status = status;
    // Common and vhost lines may go on with a referer and user agent (vhost_combined, or a combined
    // line read as common).
    if variant == Variant::Combined || rest[end..].starts_with(b" \"") {
        // "referer" "user agent", one space apart; what follows the user agent is not read.
        let rest = rest[end..].strip_prefix(b" \"")?;
        let q = find2(rest, b'"', b'\\')?;
        if rest[q] != b'"' {
            return None;
        }
        ev.referer = Some(Cow::Borrowed(&rest[..q]));
        let rest = rest[q + 1..].strip_prefix(b" \"")?;
        // A user agent is long (100-200 bytes): memchr's vector search earns its setup here.
        let q = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[q] != b'"' {
            return None;
        }
        ev.user_agent = Some(Cow::Borrowed(&rest[..q]));
    }
    let (sp, target) = method_and_target(request).ok()?;
    ev.method = Some(Cow::Borrowed(&request[..sp]));
    ev.target = Cow::Borrowed(&request[target]);
    Some(ev)
}

/// Splits `%r` into method and target. A request line of `-` (a connection closed before it sent one,
/// typically a 408) and junk (TLS bytes sent to a plain-HTTP port) are valid log lines without a request.
pub fn split_request<'a>(request: Cow<'a, [u8]>, mut ev: RawEvent<'a>) -> ParseResult<'a> {
    let (sp, target) = match method_and_target(&request) {
        Ok(t) => t,
        Err(why) => return Ok(Parsed::NoRequest(why)),
    };
    match request {
        Cow::Borrowed(r) => {
            ev.method = Some(Cow::Borrowed(&r[..sp]));
            ev.target = Cow::Borrowed(&r[target]);
        }
        Cow::Owned(r) => {
            ev.method = Some(Cow::Owned(r[..sp].to_vec()));
            ev.target = Cow::Owned(r[target].to_vec());
        }
    }
    Ok(Parsed::Event(ev))
}

/// Where the method ends (the first space) and the target lies in a request line `METHOD target
/// [HTTP/x]`; or why the line is not a request.
fn method_and_target(request: &[u8]) -> Result<(usize, std::ops::Range<usize>), &'static str> {
    if request.is_empty() || request == b"-" {
        return Err("request line '-'");
    }
    let sp = crate::bytes::find(request, b' ').ok_or("junk request line")?;
    let method = &request[..sp];
    if method.is_empty()
        || method.len() > 32
        || !method.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("junk request line");
    }
    let n = request.len();
    let mut end = n;
    // The version after the last space, most often ` HTTP/1.1` (found without a search).
    if n > 9 + sp
        && request[n - 9] == b' '
        && request[n - 8..].starts_with(b"HTTP/")
        && !request[n - 3..].contains(&b' ')
    {
        end = n - 9;
    } else if let Some(last) = request.iter().rposition(|&b| b == b' ')
        && last > sp
        && request[last + 1..].starts_with(b"HTTP/")
    {
        end = last;
    }
    if end <= sp + 1 {
        return Err("request line without a target");
    }
    Ok((sp, sp + 1..end))
}

/// Reads the quoted request, whose closing quote must be followed by a status. Tries the escape-aware
/// reading first; for logs that did not escape `"` inside the request, falls back to the first quote
/// followed by ` NNN `.
fn request_field(s: &[u8]) -> Option<(Cow<'_, [u8]>, &[u8])> {
    if let Some((v, rest)) = quoted(s)
        && status_follows(rest)
    {
        return Some((v, rest));
    }
    let i = (0..s.len()).find(|&i| s[i] == b'"' && status_follows(&s[i + 1..]))?;
    Some((unescape(&s[..i]), &s[i + 1..]))
}

fn status_follows(rest: &[u8]) -> bool {
    let f = match rest.strip_prefix(b" ") {
        Some(f) => f,
        None => return false,
    };
    let end = f.iter().position(|&b| b == b' ').unwrap_or(f.len());
    let st = &f[..end];
    st == b"-" || (st.len() == 3 && st.iter().all(u8::is_ascii_digit))
}

/// A quoted field with backslash escapes, starting just after its opening quote. Returns the unescaped
/// value and what follows the closing quote.
fn quoted(s: &[u8]) -> Option<(Cow<'_, [u8]>, &[u8])> {
    let mut i = 0;
    let mut escaped = false;
    loop {
        i += memchr::memchr2(b'\\', b'"', s.get(i..)?)?;
        if s[i] == b'\\' {
            escaped = true;
            i += 2;
            continue;
        }
        let raw = &s[..i];
        let v = if escaped { unescape(raw) } else { Cow::Borrowed(raw) };
        return Some((v, &s[i + 1..]));
    }
}

/// Undoes Apache/Nginx log escaping: `\"`, `\\`, `\xhh`, `\n`, `\t`, `\r`, `\v`, `\f`, `\b`. An unknown
/// escape is kept as it is.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 >= raw.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        let simple = match c {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'v' => Some(0x0b),
            b'f' => Some(0x0c),
            b'b' => Some(0x08),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
        } else if c == b'x'
            && i + 3 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 2]), hex(raw[i + 3]))
        {
            out.push(h << 4 | l);
            i += 4;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// The value of a hex digit (shared by the formats that undo `\xhh` or `%hh` escapes).
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Skips ` status bytes ` and returns what follows (the referer's opening quote onward).
fn skip_two_fields(rest: &[u8]) -> Option<&[u8]> {
    let mut r = rest;
    for _ in 0..2 {
        r = r.strip_prefix(b" ")?;
        let end = r.iter().position(|&b| b == b' ')?;
        r = &r[end..];
    }
    r.strip_prefix(b" ")
}

/// `host:port` → `host` (also `[v6]:port` → `[v6]`).
pub fn strip_port(v: &[u8]) -> &[u8] {
    match v.iter().rposition(|&b| b == b':') {
        Some(i)
            if i + 1 < v.len() && v[i + 1..].iter().all(u8::is_ascii_digit) && !v[..i].contains(&b':') =>
        {
            &v[..i]
        }
        Some(i) if v.first() == Some(&b'[') && v[i - 1] == b']' => &v[..i],
        _ => v,
    }
}

/// The virtual host of `%v:%p`: [`strip_port`], and also an IPv6 address written without brackets
/// before its port (`2001:db8::1:443`), where what precedes the last `:digits` is itself an address.
fn strip_vhost_port(v: &[u8]) -> &[u8] {
    let host = strip_port(v);
    if host.len() == v.len()
        && let Some(i) = v.iter().rposition(|&b| b == b':')
        && i + 1 < v.len()
        && v[i + 1..].iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(&v[..i]).is_ok_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
    {
        return &v[..i];
    }
    host
}

fn looks_like_host_port(v: &[u8]) -> bool {
    // An IPv6 client has several colons; a vhost is `name:port` with one.
    v.iter().filter(|&&b| b == b':').count() == 1 && v.iter().any(u8::is_ascii_alphabetic)
}

/// The first ` [` (the space before the time field).
fn find_time_open(line: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'[', line).find(|&p| p > 0 && line[p - 1] == b' ').map(|p| p - 1)
}

fn atoi(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |a, &b| a.wrapping_mul(10).wrapping_add(u64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &[u8], v: Variant) -> RawEvent<'_> {
        match parse_line(line, v, ClientRule::First, &mut ClfDay::default()).unwrap() {
            Parsed::Event(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn combined_line() {
        let e = ev(
            br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1 HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
            Variant::Combined,
        );
        assert_eq!(&e.client.unwrap()[..], b"127.0.0.1");
        assert_eq!(&e.method.unwrap()[..], b"GET");
        assert_eq!(&e.target[..], b"/apache_pb.gif?a=1");
        assert_eq!(e.status, Some(200));
        assert_eq!(e.bytes, Some(2326));
        assert_eq!(&e.user_agent.unwrap()[..], b"Mozilla/4.08 [en] (Win98; I ;Nav)");
        assert_eq!(e.time.unwrap().to_string(), "2000-10-10T20:55:36Z");
    }

    #[test]
    fn escaped_quotes_and_hex_in_request() {
        let e = ev(
            br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a\"b\\c\x00d HTTP/1.1" 200 - "-" "ua \"q\"""#,
            Variant::Combined,
        );
        assert_eq!(&e.target[..], b"/a\"b\\c\x00d");
        assert_eq!(e.bytes, None);
        assert_eq!(&e.user_agent.unwrap()[..], b"ua \"q\"");
    }

    #[test]
    fn unescaped_quote_inside_request_falls_back() {
        let e = ev(br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a"b HTTP/1.1" 200 5"#, Variant::Common);
        assert_eq!(&e.target[..], b"/a\"b");
    }

    #[test]
    fn dash_and_junk_requests_are_not_events() {
        let l = br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "-" 408 -"#;
        assert!(matches!(
            parse_line(l, Variant::Common, ClientRule::First, &mut ClfDay::default()).unwrap(),
            Parsed::NoRequest(_)
        ));
        let l = br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 0 "-" "-""#;
        assert!(matches!(
            parse_line(l, Variant::Combined, ClientRule::First, &mut ClfDay::default()).unwrap(),
            Parsed::NoRequest(_)
        ));
    }

    #[test]
    fn vhost_port_stripped_and_misfits_rejected() {
        let l = br#"www.example.test:443 1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "POST /x.php HTTP/1.1" 200 5 "-" "curl""#;
        let e = ev(l, Variant::Vhost);
        assert_eq!(&e.host.unwrap()[..], b"www.example.test");
        assert!(parse_line(l, Variant::Combined, ClientRule::First, &mut ClfDay::default()).is_err());
        let c = br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "curl""#;
        assert!(parse_line(c, Variant::Vhost, ClientRule::First, &mut ClfDay::default()).is_err());
    }

    #[test]
    fn forwarded_for_chain_in_the_client_field() {
        let l = br#"10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] "GET /x HTTP/1.1" 200 5 "-" "ua" "-""#;
        let e = ev(l, Variant::Combined);
        assert_eq!(&e.client.unwrap()[..], b"10.0.0.2");
        assert_eq!(&e.forwarded_for.unwrap()[..], b"10.0.0.2, 10.0.0.1, 127.0.0.1");
        assert_eq!(e.time.unwrap().to_string(), "2016-12-07T10:05:07Z");
        let last = parse_line(l, Variant::Combined, ClientRule::Last, &mut ClfDay::default()).unwrap();
        let Parsed::Event(last) = last else { panic!() };
        assert_eq!(&last.client.unwrap()[..], b"127.0.0.1");
        // Behind a virtual host, and written without spaces.
        let v = br#"www.example.test:80 203.0.113.9,10.0.0.1 - - [07/Dec/2016:11:05:07 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
        let e = ev(v, Variant::Vhost);
        assert_eq!(&e.host.unwrap()[..], b"www.example.test");
        assert_eq!(&e.client.unwrap()[..], b"203.0.113.9");
        assert_eq!(&e.forwarded_for.unwrap()[..], b"203.0.113.9,10.0.0.1");
        // A chain is never a virtual host.
        assert!(parse_line(l, Variant::Vhost, ClientRule::First, &mut ClfDay::default()).is_err());
        // A plain client has no chain.
        let c = br#"1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
        assert_eq!(ev(c, Variant::Combined).forwarded_for, None);
    }

    #[test]
    fn common_reads_a_referer_and_user_agent_when_they_follow() {
        let c = br#"1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET / HTTP/1.1" 200 5 "http://r/" "ua""#;
        let e = ev(c, Variant::Common);
        assert_eq!(&e.user_agent.unwrap()[..], b"ua");
        assert_eq!(&e.referer.unwrap()[..], b"http://r/");
        // Anything else after the bytes is not read.
        let d = br#"1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET / HTTP/1.1" 200 5 1234 "x""#;
        assert_eq!(ev(d, Variant::Common).user_agent, None);
    }

    #[test]
    fn mixed_tries_the_other_variants_and_counts_each() {
        let combined = br#"1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua""#;
        let vhost = br#"www.example.test:443 1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET /b HTTP/1.1" 200 5 "-" "ua""#;
        let common = br#"1.2.3.4 - - [07/Dec/2016:11:05:07 +0000] "GET /c HTTP/1.1" 200 -"#;
        let mut m = Mixed::new(Variant::Combined, ClientRule::First);
        assert_eq!(Mixed::tried(Variant::Combined), "combined, vhost or common");
        for l in [&combined[..], combined, vhost, common] {
            assert!(matches!(m.parse(l), Ok(Parsed::Event(_))), "{}", String::from_utf8_lossy(l));
        }
        let Ok(Parsed::Event(e)) = m.parse(vhost) else { panic!() };
        assert_eq!(&e.host.unwrap()[..], b"www.example.test");
        assert_eq!(m.read_as(), [("combined", 2), ("vhost", 2), ("common", 1)]);
        // A line none reads keeps the detected variant's reason.
        assert_eq!(m.parse(b"garbage").unwrap_err(), "no [time] field");
        // Detected common: combined lines read by it count as combined.
        let mut m = Mixed::new(Variant::Common, ClientRule::First);
        assert_eq!(Mixed::tried(Variant::Common), "common, vhost or combined");
        for l in [&common[..], combined] {
            m.parse(l).unwrap();
        }
        assert_eq!(m.read_as(), [("common", 1), ("vhost", 0), ("combined", 1)]);
    }

    #[test]
    fn shapes_of_real_logs() {
        // A user name with a space (AWStats' test log), and runs of spaces between fields (lnav's).
        let e = ev(
            br#"80.8.55.7 - John Begood [01/Jan/2001:13:01:00 +0100] "GET /a HTTP/1.0" 200 7 "-" "ua""#,
            Variant::Combined,
        );
        assert_eq!((&e.client.unwrap()[..], e.host), (&b"80.8.55.7"[..], None));
        let e = ev(
            br#"10.1.10.51 -  -  [23/Dec/2014:21:20:35 +0000] "POST /api HTTP/1.1" 200 - "-" "-"  293"#,
            Variant::Combined,
        );
        assert_eq!(&e.client.unwrap()[..], b"10.1.10.51");
        // ...but a vhost line without its port is not a user name with a space.
        let v = br#"www.example.com 1.2.3.4 - theuser [10/Feb/2012:16:42:07 -0500] "GET / HTTP/1.0" 301 368"#;
        assert!(parse_line(v, Variant::Common, ClientRule::First, &mut ClfDay::default()).is_err());
        // vhost_common: a vhost line without referer and user agent.
        let e = ev(v, Variant::Vhost);
        assert_eq!((&e.host.unwrap()[..], e.user_agent), (&b"www.example.com"[..], None));
        // An IPv6 virtual host without brackets, before its port.
        let e = ev(br#"2001:db8:1ce::1:82 203.0.113.1 - - [22/Mar/2009:09:30:31 +0100] "GET / HTTP/1.1" 301 1130 1202"#, Variant::Vhost);
        assert_eq!(&e.host.unwrap()[..], b"2001:db8:1ce::1");
        // A user agent cut at the end of the line.
        let e = ev(br#"10.0.0.1 - - [13/Jan/2016:19:31:16 +0000] "GET / HTTP/1.1" 200 5 "-" "Googlebot/2.1; +http://www.google.com/bot.html"#, Variant::Combined);
        assert_eq!(&e.user_agent.unwrap()[..], b"Googlebot/2.1; +http://www.google.com/bot.html");
        // Milliseconds in the time (Splunk's own access log).
        let e = ev(br#"127.0.0.1 - admin [28/Sep/2016:09:05:26.875 -0700] "GET /services HTTP/1.0" 200 126721 - - - 6ms"#, Variant::Common);
        assert_eq!(e.time.unwrap().to_string(), "2016-09-28T16:05:26.875Z");
        // A comment line is not a bad line.
        let c = parse_line(
            b"# Request with invalid length",
            Variant::Combined,
            ClientRule::First,
            &mut ClfDay::default(),
        );
        assert!(matches!(c, Ok(Parsed::Header)));
    }

    #[test]
    fn ipv6_client_and_absolute_target() {
        let e = ev(
            br#"2001:db8::1 - - [10/Oct/2000:13:55:36 +0000] "GET http://h:8080/p?q HTTP/1.1" 200 1"#,
            Variant::Common,
        );
        assert_eq!(&e.client.unwrap()[..], b"2001:db8::1");
        assert_eq!(&e.target[..], b"http://h:8080/p?q");
    }

    #[test]
    fn target_with_space_and_http09() {
        let e =
            ev(br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a b.php HTTP/1.1" 200 1"#, Variant::Common);
        assert_eq!(&e.target[..], b"/a b.php");
        let e = ev(br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /old" 200 1"#, Variant::Common);
        assert_eq!(&e.target[..], b"/old");
    }

    #[test]
    fn broken_lines_say_why() {
        for (l, why) in [
            (&b"garbage"[..], "time"),
            (br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1 200 1"#, "quote"),
            (br#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 2x0 1"#, "quote"),
            (br#"1.2.3.4 - - [99/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#, "time"),
        ] {
            let e = parse_line(l, Variant::Combined, ClientRule::First, &mut ClfDay::default()).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_any_variant_no_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            for v in [Variant::Common, Variant::Combined, Variant::Vhost] {
                let _ = parse_line(&bytes, v, ClientRule::First, &mut ClfDay::default());
            }
        }

    }

    proptest::proptest! {
        /// The version is cut at the last space when what follows it starts with `HTTP/`.
        #[test]
        fn method_and_target_cut_at_the_last_space(r in "(GET|X)( |/|a|HTTP/1\\.1|HTTP/2){0,6}") {
            let r = r.as_bytes();
            let want = (|| {
                let sp = r.iter().position(|&b| b == b' ')?;
                if sp == 0 || sp > 32 || !r[..sp].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                    return None;
                }
                let mut end = r.len();
                if let Some(last) = r.iter().rposition(|&b| b == b' ')
                    && last > sp
                    && r[last + 1..].starts_with(b"HTTP/")
                {
                    end = last;
                }
                (end > sp + 1).then_some((sp, sp + 1..end))
            })();
            proptest::prop_assert_eq!(method_and_target(r).ok(), want);
        }
    }

    proptest::proptest! {
        // Damaged lines are cheap to read, and the readings differ only at a few places of a line.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Wherever the one-pass reading answers, the general reading gives the same event; and on lines
        /// of the usual shape it does answer.
        #[test]
        fn plain_reading_agrees_with_the_general_one(
            base in 0usize..4,
            edits in proptest::collection::vec((0usize..64, 0usize..3, proptest::sample::select(&b" []\"\\-:0/H\x01\x7f\xe9"[..]), 0usize..3), 0..4),
        ) {
            let bases: [&[u8]; 4] = [
                br#"1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "http://r/" "Mozilla/5.0 (X11) Gecko/20100101 Firefox/118.0""#,
                br#"www.x:443 2001:db8::1 - - [10/Oct/2000:13:55:36 +0000] "POST /x.php HTTP/1.1" 404 - "-" "curl/8.0" 1234"#,
                br#"[::1] - - [01/Jan/2026:00:00:00 +0100] "OPTIONS * HTTP/1.1" - 0"#,
                br#"10.0.0.1 - - [31/Dec/2025:23:59:59 -1130] "GET /old" 200 5 "-" "-""#,
            ];
            let mut l = bases[base].to_vec();
            let untouched = edits.is_empty();
            for (k, off, b, op) in edits {
                // Next to a separator (the k-th space, quote or bracket), where the readings differ.
                let seps: Vec<usize> = (0..l.len()).filter(|&i| b" \"[]".contains(&l[i])).collect();
                let at = match seps.get(k % seps.len().max(1)) {
                    Some(&p) => (p + off).saturating_sub(1).min(l.len()),
                    None => 0,
                };
                match op {
                    0 => l.insert(at, b),
                    1 if at < l.len() => l[at] = b,
                    _ if at < l.len() => { l.remove(at); }
                    _ => {}
                }
            }
            for v in [Variant::Common, Variant::Combined, Variant::Vhost] {
                let general = general_line(&l, v, ClientRule::First, &mut ClfDay::default());
                match plain_line(&l, v, &mut ClfDay::default()) {
                    Some(ev) => match general {
                        Ok(Parsed::Event(g)) => proptest::prop_assert_eq!(ev, g),
                        other => proptest::prop_assert!(false, "plain read {:?}, general {:?}", ev, other),
                    },
                    // The usual lines are the one-pass reading's to answer.
                    None => proptest::prop_assert!(!(untouched && matches!(general, Ok(Parsed::Event(_))))),
                }
            }
        }

        #[test]
        fn mutated_valid_lines_no_panic(cut in 0usize..130, junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)) {
            let base = br#"www.x:443 1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "u\x41""#;
            let mut l = base[..cut.min(base.len())].to_vec();
            l.extend(&junk);
            l.extend(&base[cut.min(base.len())..]);
            for v in [Variant::Common, Variant::Combined, Variant::Vhost] {
                if let Ok(Parsed::Event(ev)) = parse_line(&l, v, ClientRule::First, &mut ClfDay::default()) {
                    // Whatever parsed is written as valid JSON.
                    let mut out = vec![];
                    ev.write(&mut out, b"s:1", None, &super::super::event::EmitOptions::default());
                    serde_json::from_slice::<crate::record::Event>(&out).unwrap();
                }
            }
        }
    }
}
