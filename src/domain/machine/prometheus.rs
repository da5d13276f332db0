//! The Prometheus text exposition format (version 0.0.4), for `/metrics`: metric families
//! with their help and type, samples with labels, and histograms as their cumulative
//! buckets, sum and count. Every part of the server describes its figures as [`Family`]s; this
//! writes them. Label values are escaped, so no name a sender chose can break the format.

use std::fmt::Write as _;

/// What a family's samples are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A sample's value: a number, or a histogram's cumulative buckets (upper bound, observations
/// at most that), their sum and count.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Histogram { buckets: Vec<(f64, u64)>, sum: f64, count: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: Value,
}

impl Sample {
    pub fn number(labels: Vec<(&'static str, String)>, value: f64) -> Self {
        Self { labels, value: Value::Number(value) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

impl Family {
    /// A family of one unlabelled number.
    pub fn single(name: &'static str, help: &'static str, kind: Kind, value: f64) -> Self {
        Self { name, help, kind, samples: vec![Sample::number(Vec::new(), value)] }
    }
}

/// Observations counted into buckets with fixed upper bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations in each bucket (not cumulative), one per bound.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// `bounds` in increasing order; larger observations count only in `+Inf`.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self { bounds, counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    pub fn observe(&mut self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// The histogram as a sample's value, buckets cumulative.
    pub fn value(&self) -> Value {
        let mut running = 0;
        let buckets = (self.bounds.iter().zip(&self.counts))
            .map(|(b, n)| {
                running += n;
                (*b, running)
            })
            .collect();
        Value::Histogram { buckets, sum: self.sum, count: self.count }
    }
}

/// A label value as the format wants it: backslash, quote and newline escaped.
pub fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(pairs: &[(&'static str, String)], extra: Option<(&str, &str)>) -> String {
    let mut all: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
    all.extend(extra.map(|(k, v)| format!("{k}=\"{v}\"")));
    if all.is_empty() { String::new() } else { format!("{{{}}}", all.join(",")) }
}

fn number(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else {
        value.to_string()
    }
}

/// The families in the text format, each with its `# HELP` and `# TYPE` lines.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
        for s in &f.samples {
            match &s.value {
                Value::Number(v) => {
                    let _ = writeln!(out, "{}{} {}", f.name, labels(&s.labels, None), number(*v));
                }
                Value::Histogram { buckets, sum, count } => {
                    for (le, n) in buckets {
                        let le = number(*le);
                        let _ = writeln!(out, "{}_bucket{} {n}", f.name, labels(&s.labels, Some(("le", &le))));
                    }
                    let _ = writeln!(out, "{}_bucket{} {count}", f.name, labels(&s.labels, Some(("le", "+Inf"))));
                    let _ = writeln!(out, "{}_sum{} {}", f.name, labels(&s.labels, None), number(*sum));
                    let _ = writeln!(out, "{}_count{} {count}", f.name, labels(&s.labels, None));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_into_cumulative_buckets() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.5, 0.7, 3.0] {
            h.observe(v);
        }
        assert_eq!(h.value(), Value::Histogram { buckets: vec![(0.1, 1), (1.0, 3)], sum: 4.25, count: 4 });
    }

    #[test]
    fn families_are_written_with_help_type_labels_and_histograms() {
        let families = [
            Family::single("up", "Whether it runs.", Kind::Gauge, 1.0),
            Family {
                name: "requests",
                help: "Requests.",
                kind: Kind::Counter,
                samples: vec![Sample::number(vec![("route", "/a\"b\\".into())], 3.0)],
            },
            Family {
                name: "latency_seconds",
                help: "Latency.",
                kind: Kind::Histogram,
                samples: vec![Sample {
                    labels: vec![("route", "/".into())],
                    value: Value::Histogram { buckets: vec![(0.1, 2), (1.0, 3)], sum: 0.75, count: 4 },
                }],
            },
        ];
        assert_eq!(
            render(&families),
            "# HELP up Whether it runs.\n# TYPE up gauge\nup 1\n\
             # HELP requests Requests.\n# TYPE requests counter\nrequests{route=\"/a\\\"b\\\\\"} 3\n\
             # HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n\
             latency_seconds_bucket{route=\"/\",le=\"0.1\"} 2\nlatency_seconds_bucket{route=\"/\",le=\"1\"} 3\n\
             latency_seconds_bucket{route=\"/\",le=\"+Inf\"} 4\nlatency_seconds_sum{route=\"/\"} 0.75\n\
             latency_seconds_count{route=\"/\"} 4\n"
        );
    }
}
