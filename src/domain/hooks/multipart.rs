//! The fields of a `multipart/form-data` body (what `curl -F name=value` sends), enough for
//! hooks that take plain form fields. Malformed parts are skipped, never a panic.

/// `(name, value)` of every part with a name, in order; values are decoded as UTF-8 (lossy).
pub fn fields(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = boundary(content_type) else { return Vec::new() };
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    for part in split(body, delimiter.as_bytes()).into_iter().skip(1) {
        if part.starts_with(b"--") {
            break; // the closing delimiter
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(end) = find(part, b"\r\n\r\n") else { continue };
        let headers = String::from_utf8_lossy(&part[..end]);
        let value = &part[end + 4..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        if let Some(name) = disposition_name(&headers) {
            out.push((name, String::from_utf8_lossy(value).into_owned()));
        }
    }
    out
}

fn boundary(content_type: &str) -> Option<String> {
    content_type
        .split(';')
        .skip(1)
        .find_map(|param| {
            let (key, value) = param.split_once('=')?;
            key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        // RFC 2046: 1 to 70 characters.
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn disposition_name(headers: &str) -> Option<String> {
    let line = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    line.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Linear in the haystack whatever the needle (a naive search is quadratic on a body of
/// dashes against a boundary of dashes).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(haystack, needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(body, delimiter) {
        parts.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    parts.push(body);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_form_fields_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"poller\"\r\n\r\nhttps://svn.example.org/repo\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"poller\"\r\n\r\nsecond\r\n--XyZ--\r\n";
        let got = fields("multipart/form-data; boundary=XyZ", body);
        assert_eq!(
            got,
            [
                ("poller".to_owned(), "https://svn.example.org/repo".to_owned()),
                ("poller".to_owned(), "second".to_owned())
            ]
        );
    }

    #[test]
    fn garbage_gives_nothing() {
        assert!(fields("multipart/form-data", b"--x\r\n").is_empty());
        assert!(fields("multipart/form-data; boundary=x", b"--x\r\nno headers end").is_empty());
        assert!(fields("multipart/form-data; boundary=\"\"", b"").is_empty());
        // Longer than RFC 2046 allows: not a boundary.
        let long = "-".repeat(71);
        let body = format!("--{long}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--{long}--\r\n");
        assert!(fields(&format!("multipart/form-data; boundary={long}"), body.as_bytes()).is_empty());
        let at_limit = &long[..70];
        let body = body.replace(&long, at_limit);
        let got = fields(&format!("multipart/form-data; boundary={at_limit}"), body.as_bytes());
        assert_eq!(got, [("a".to_owned(), "b".to_owned())]);
    }
}
