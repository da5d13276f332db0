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

/// A secret given in the file (`from_file` false) or, better, in a file of its own, relative
/// to `base` (its last line end dropped).
pub fn secret(
    v: &toml::Value,
    base: &std::path::Path,
    from_file: bool,
) -> Result<crate::domain::secret::Secret, String> {
    let text = if from_file {
        let path = base.join(string(v)?);
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        String::from_utf8(bytes)
            .map_err(|_| "the file is not UTF-8".to_owned())?
            .trim_end_matches(['\r', '\n'])
            .to_owned()
    } else {
        string(v)?
    };
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(crate::domain::secret::Secret::new(text))
    }
}

/// A list of result names (`["success", "warnings"]`).
pub fn results(v: &toml::Value) -> Result<Vec<crate::domain::result::BuildResult>, String> {
    use crate::domain::result::BuildResult;
    strings(v)?
        .iter()
        .map(|w| BuildResult::parse(w).ok_or_else(|| format!("'{w}' is not a result ({})", result_names())))
        .collect()
}

/// Every result's name, for problems.
pub fn result_names() -> String {
    crate::domain::result::BuildResult::ALL.map(|r| r.name()).join(", ")
}
