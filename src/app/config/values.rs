//! Reading one value of `buildstatus.toml`: the checks every section shares, each saying what
//! it expected and what it found, so that a problem names itself the same way everywhere.

pub fn string(v: &toml::Value) -> Result<String, String> {
    v.as_str().map(str::to_owned).ok_or_else(|| format!("expected a string, found {}", v.type_str()))
}

pub fn non_empty(v: &toml::Value) -> Result<String, String> {
    let s = string(v)?;
    if s.trim().is_empty() { Err("must not be empty".to_owned()) } else { Ok(s) }
}

pub fn strings(v: &toml::Value) -> Result<Vec<String>, String> {
    match v.as_array() {
        Some(items) => items.iter().map(string).collect(),
        None => Err(format!("expected a list of strings, found {}", v.type_str())),
    }
}

pub fn boolean(v: &toml::Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("expected true or false, found {}", v.type_str()))
}

/// A whole number in `min..=max`.
pub fn number(v: &toml::Value, min: i64, max: i64) -> Result<i64, String> {
    match v.as_integer() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} is outside {min}..={max}")),
        None => Err(format!("expected a whole number, found {}", v.type_str())),
    }
}

/// A count of at least `min`.
pub fn count(v: &toml::Value, min: i64) -> Result<usize, String> {
    match v.as_integer() {
        Some(n) if n >= min => usize::try_from(n).map_err(|_| "too large".to_owned()),
        Some(n) => Err(format!("{n} is below the minimum of {min}")),
        None => Err(format!("expected a whole number, found {}", v.type_str())),
    }
}

/// A positive number of bytes (a request body's limit).
pub fn bytes(v: &toml::Value) -> Result<usize, String> {
    match v.as_integer() {
        Some(n) if n > 0 => usize::try_from(n).map_err(|e| e.to_string()),
        _ => Err("expected a positive number of bytes".to_owned()),
    }
}
