//! What kind of thing a path names: the extension lists behind templates, profiles and scoring.
//!
//! One place for the lists, so that `path-normalize` (which keeps script names literal in templates and
//! picks a profile from them) and `baseline-diff` (which scores script names and upload folders) agree.

/// Extensions a web server commonly hands to an interpreter instead of serving as a file: what a web
/// shell is written in. Double extensions (`x.php.jpg`) are caught by [`script_ext`], which looks at
/// every extension of a name, because Apache's `AddHandler` runs a file whose name contains `.php`
/// anywhere.
pub const SCRIPT_EXTS: &[&str] = &[
    // PHP
    "php", "php3", "php4", "php5", "php7", "php8", "pht", "phtml", "phar", "inc",
    // ASP.NET / classic ASP / IIS handlers
    "asp", "aspx", "ashx", "asmx", "asa", "asax", "cer", "cdx", "axd", "svc", "soap", "rem", "config",
    // Java
    "jsp", "jspx", "jspf", "jsw", "jsv", "jhtml", // ColdFusion
    "cfm", "cfml", "cfc", // CGI and scripting languages
    "cgi", "pl", "pm", "py", "rb", "sh", "bash", "lua", // Server-side includes
    "shtml", "stm",
];

/// Extensions that belong to IIS (ASP, ASP.NET); a path with one is resolved the Windows way when the
/// log does not say which server wrote it.
pub const IIS_EXTS: &[&str] =
    &["asp", "aspx", "ashx", "asmx", "asa", "asax", "axd", "svc", "cer", "cdx", "rem", "soap"];

/// Extensions that belong to Java servlet containers.
pub const JAVA_EXTS: &[&str] = &["jsp", "jspx", "jspf", "jsw", "jsv", "jhtml", "do", "action"];

/// Extensions PHP runs wherever it is installed (Apache, nginx with PHP-FPM, IIS with FastCGI).
const PHP_EXTS: &[&str] = &["php", "php3", "php4", "php5", "php7", "php8", "pht", "phtml", "phar"];

/// Languages that a Unix web server runs only as CGI, where a folder is set up for it (`cgi-bin`);
/// elsewhere Apache and nginx serve such a file as its source, a download.
const CGI_LANGS: &[&str] = &["pl", "pm", "py", "rb", "sh", "bash", "lua"];

/// Folder names that usually hold CGI programs (`ScriptAlias /cgi-bin/`).
const CGI_DIRS: &[&str] = &["cgi-bin", "cgi", "fcgi-bin", "cgi-local", "cgi-sys"];

/// Whether a server runs a script of extension `ext` (lower case) in `folder`, as far as its kind tells:
/// `windows` for IIS, else a Unix server (Apache, nginx, a servlet container behind them).
///
/// * PHP runs everywhere; ColdFusion, SSI and `.cgi` wherever they appear.
/// * ASP and ASP.NET handlers (and `.cer`, `.config` mapped to them) run on IIS only.
/// * Java pages run everywhere (a proxy often sits in front of the container), except on IIS.
/// * Perl, Python, Ruby, shell and Lua run only under a CGI folder; `.inc` (PHP includes) never.
///
/// `--exec-ext` replaces all of this with the user's list.
pub fn executes(windows: bool, ext: &str, folder: &str) -> bool {
    let ext = ext.to_ascii_lowercase();
    let e = ext.as_str();
    if is_in(PHP_EXTS, e) || ["cfm", "cfml", "cfc", "shtml", "stm", "cgi"].contains(&e) {
        return true;
    }
    if is_in(IIS_EXTS, e) || e == "config" {
        return windows;
    }
    if is_in(JAVA_EXTS, e) || e == "jhtml" {
        return !windows;
    }
    if is_in(CGI_LANGS, e) {
        return folder.split('/').any(|seg| CGI_DIRS.iter().any(|d| d.eq_ignore_ascii_case(seg)));
    }
    false
}

/// Extensions of static content that a site publishes in bulk (pages, images, assets, documents).
pub const STATIC_EXTS: &[&str] = &[
    "html", "htm", "css", "js", "mjs", "map", "json", "xml", "txt", "csv", "md", "png", "jpg", "jpeg", "gif",
    "webp", "avif", "svg", "ico", "bmp", "tif", "tiff", "woff", "woff2", "ttf", "otf", "eot", "pdf", "doc",
    "docx", "xls", "xlsx", "ppt", "pptx", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "mp3", "mp4",
    "webm", "ogg", "wav", "mov", "avi",
];

/// Folder names where a site keeps uploaded or static files, never code: a script there is the classic
/// web-shell drop (`/uploads/`, `/images/`, Exchange's `/aspnet_client/`). Folders that legitimately hold
/// code next to content (`wp-content/plugins`) are not listed; the baseline decides for those.
pub const STATIC_DIRS: &[&str] = &[
    "upload",
    "uploads",
    "uploaded",
    "files",
    "media",
    "images",
    "image",
    "img",
    "imgs",
    "pics",
    "photos",
    "static",
    "assets",
    "css",
    "js",
    "fonts",
    "tmp",
    "temp",
    "cache",
    "attachments",
    "downloads",
    "userfiles",
    "aspnet_client",
    "thumbs",
    "thumbnails",
    "avatars",
    "backup",
    "backups",
    "logs",
];

/// The last path segment of `path` (after the last `/`).
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every extension of a file name, as written, outermost last: `a.PHP.jpg` → `["PHP", "jpg"]`. A
/// leading dot (`.htaccess`) is a hidden name, not an extension. An extension ends at the first character
/// that cannot be part of one, so `x.php%00.jpg` and `x.php;.jpg` still show `php`.
pub fn ext_slices(name: &str) -> impl Iterator<Item = &str> + '_ {
    let body = name.trim_start_matches('.');
    body.split('.')
        .skip(1)
        .map(|e| &e[..e.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(e.len())])
        .filter(|e| !e.is_empty())
}

/// Every extension of a file name, lower-cased, outermost last: `a.PHP.jpg` → `["php", "jpg"]`.
pub fn extensions(name: &str) -> impl Iterator<Item = String> + '_ {
    ext_slices(name).map(|e| e.to_ascii_lowercase())
}

/// The entry of `list` equal to `ext`, ignoring ASCII case.
pub fn find_in(list: &'static [&'static str], ext: &str) -> Option<&'static str> {
    list.iter().copied().find(|x| x.eq_ignore_ascii_case(ext))
}

/// The script extension in a file name, if any of its extensions is one (`x.php.jpg` → `php`).
pub fn script_ext(name: &str) -> Option<&'static str> {
    if !name.contains('.') {
        return None;
    }
    ext_slices(name).find_map(|e| find_in(SCRIPT_EXTS, e))
}

/// True when `ext` (lower case) is in `list`.
pub fn is_in(list: &[&str], ext: &str) -> bool {
    list.contains(&ext)
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_runs_depends_on_the_server_and_the_folder() {
        use super::executes;
        assert!(executes(false, "php", "/wp-content/uploads/") && executes(true, "PHP", "/"));
        assert!(executes(true, "aspx", "/") && !executes(false, "aspx", "/"));
        assert!(executes(true, "config", "/") && !executes(false, "config", "/"));
        assert!(executes(false, "jsp", "/app/") && !executes(true, "jsp", "/app/"));
        assert!(!executes(false, "py", "/code/") && executes(false, "py", "/cgi-bin/tools/"));
        assert!(!executes(false, "sh", "/downloads/") && executes(true, "pl", "/CGI-BIN/"));
        assert!(!executes(false, "inc", "/") && executes(false, "cgi", "/x/"));
    }

    use super::*;

    #[test]
    fn script_extensions_anywhere_in_the_name() {
        assert_eq!(script_ext("x.php"), Some("php"));
        assert_eq!(script_ext("x.PHP.jpg"), Some("php"));
        assert_eq!(script_ext("report.pdf"), None);
        assert_eq!(script_ext("shell.php%00.jpg"), Some("php"));
        assert_eq!(script_ext("shell.asp;.jpg"), Some("asp"));
        assert_eq!(script_ext(".htaccess"), None);
        assert_eq!(script_ext("php"), None);
        assert_eq!(file_name("/a/b/c.aspx"), "c.aspx");
    }
}
