//! File service discovery (`--store.sd-files`): Prometheus `file_sd` files read into specs.
//!
//! A file is a YAML (`.yml`, `.yaml`) or JSON (`.json`) list of target groups,
//! `[{targets: ["host:port", ...], labels: {...}}]`. Each target is parsed as an
//! [`EndpointSpec`], so `dns+` and `dnssrv+` forms work in files too (THANOS.md §4). Labels are
//! accepted and ignored: Thanos uses only the address (`pkg/discovery/cache/cache.go`).
//!
//! Like Prometheus (`discovery/file/file.go`), a pattern may have wildcards (`*`, `?`) in its
//! last path component only, and must end in one of those extensions. This module reads and
//! parses; watching and scheduling are the provider's job.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::spec::{EndpointSpec, SpecError};

/// Errors from SD file patterns and SD files.
#[derive(Debug, thiserror::Error)]
pub enum FileSdError {
    /// The pattern does not end in `.json`, `.yml` or `.yaml`.
    #[error("SD file {pattern:?}: must end in .json, .yml or .yaml")]
    Extension {
        /// The pattern as given.
        pattern: String,
    },
    /// A wildcard appears before the last path component.
    #[error("SD file {pattern:?}: wildcards are only allowed in the last path component")]
    WildcardInDirectory {
        /// The pattern as given.
        pattern: String,
    },
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file is not a valid list of target groups.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML or JSON error.
        message: String,
    },
    /// A target in a file is not a valid endpoint spec.
    #[error("in {path}: {source}")]
    Target {
        /// The file.
        path: PathBuf,
        /// The rejected target.
        source: SpecError,
    },
}

/// File formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

impl Format {
    fn of(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "json" => Some(Self::Json),
            "yml" | "yaml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

/// A validated `--store.sd-files` value: a path, maybe with wildcards in its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdFilePattern {
    /// Directory part (`.` when the pattern has none).
    dir: PathBuf,
    /// Last path component, possibly with `*` and `?`.
    file_name: String,
}

impl SdFilePattern {
    /// Checks the pattern: a file name with a known extension, wildcards only in the file name.
    pub fn new(pattern: &str) -> Result<Self, FileSdError> {
        let path = Path::new(pattern);
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .filter(|_| Format::of(path).is_some())
            .ok_or_else(|| FileSdError::Extension {
                pattern: pattern.to_owned(),
            })?;
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if dir.to_string_lossy().contains(['*', '?']) {
            return Err(FileSdError::WildcardInDirectory {
                pattern: pattern.to_owned(),
            });
        }
        Ok(Self {
            dir,
            file_name: file_name.to_owned(),
        })
    }

    /// The directory to watch for changes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `path`'s file name matches the pattern's. Directories are not compared, since
    /// watchers may report them canonicalised; a stray match only costs one extra reload.
    pub fn matches(&self, path: &Path) -> bool {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| wildcard_match(&self.file_name, name))
    }

    fn has_wildcard(&self) -> bool {
        self.file_name.contains(['*', '?'])
    }

    /// The files the pattern names now, sorted. A plain path names itself whether or not it
    /// exists (so a missing file is reported); a wildcard pattern names the matching files.
    pub fn expand(&self) -> Result<Vec<PathBuf>, FileSdError> {
        if !self.has_wildcard() {
            return Ok(vec![self.dir.join(&self.file_name)]);
        }
        let read_error = |source| FileSdError::Read {
            path: self.dir.clone(),
            source,
        };
        let mut paths = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let matches = entry
                .file_name()
                .to_str()
                .is_some_and(|name| wildcard_match(&self.file_name, name));
            if matches && entry.file_type().map_err(read_error)?.is_file() {
                paths.push(entry.path());
            }
        }
        paths.sort();
        Ok(paths)
    }
}

impl FromStr for SdFilePattern {
    type Err = FileSdError;

    fn from_str(pattern: &str) -> Result<Self, FileSdError> {
        Self::new(pattern)
    }
}

/// Shell-style match of `*` (any run of characters) and `?` (one character).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Position after the last `*` and the name position it was tried against, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p + 1, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((after_star, tried)) => {
                    p = after_star;
                    n = tried + 1;
                    star = Some((after_star, tried + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// One entry of a `file_sd` file; `labels` is allowed and ignored.
#[derive(Debug, Deserialize)]
struct TargetGroup {
    #[serde(default)]
    targets: Vec<String>,
}

/// Reads one SD file into endpoint specs, in file order.
pub fn read_file(path: &Path) -> Result<Vec<EndpointSpec>, FileSdError> {
    let format = Format::of(path).ok_or_else(|| FileSdError::Extension {
        pattern: path.display().to_string(),
    })?;
    let bytes = fs::read(path).map_err(|source| FileSdError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parse_error = |message: String| FileSdError::Parse {
        path: path.to_owned(),
        message,
    };
    let groups: Vec<TargetGroup> = match format {
        Format::Json => {
            serde_json::from_slice(&bytes).map_err(|err| parse_error(err.to_string()))?
        }
        // An empty YAML document is an empty list, as in Prometheus.
        Format::Yaml if bytes.iter().all(u8::is_ascii_whitespace) => Vec::new(),
        Format::Yaml => {
            serde_yaml::from_slice(&bytes).map_err(|err| parse_error(err.to_string()))?
        }
    };
    groups
        .iter()
        .flat_map(|group| &group.targets)
        .map(|target| {
            target.parse().map_err(|source| FileSdError::Target {
                path: path.to_owned(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.yaml", "stores.yaml"));
        assert!(wildcard_match("tg_*.json", "tg_.json"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(wildcard_match("*a*b", "xaxxab"));
        assert!(!wildcard_match("*.yaml", "stores.yml"));
        assert!(!wildcard_match("tg_*.json", "other.json"));
        assert!(!wildcard_match("a?c", "ac"));
    }

    #[test]
    fn patterns_are_validated() {
        assert!(matches!(
            SdFilePattern::new("targets.txt"),
            Err(FileSdError::Extension { .. })
        ));
        assert!(matches!(
            SdFilePattern::new("/etc/*/t.yaml"),
            Err(FileSdError::WildcardInDirectory { .. })
        ));
        let plain = SdFilePattern::new("targets.yml").expect("valid");
        assert_eq!(plain.dir(), Path::new("."));
        assert_eq!(
            plain.expand().expect("plain"),
            [PathBuf::from("./targets.yml")]
        );
    }

    #[test]
    fn reads_yaml_and_json_and_expands_globs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = dir.path().join("a.yaml");
        let content = "- targets: ['store-0:10901', 'dns+store.svc:10901']\n  labels: {zone: a}\n\
                       - targets: []\n";
        fs::write(&yaml, content).expect("write");
        let json = dir.path().join("b.json");
        fs::write(
            &json,
            r#"[{"targets": ["dnssrv+_grpc._tcp.store"], "labels": {"zone": "b"}}]"#,
        )
        .expect("write");
        fs::write(dir.path().join("c.txt"), "ignored").expect("write");

        let specs: Vec<String> = read_file(&yaml)
            .expect("yaml")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(specs, ["store-0:10901", "dns+store.svc:10901"]);
        let specs: Vec<String> = read_file(&json)
            .expect("json")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(specs, ["dnssrv+_grpc._tcp.store"]);

        let pattern = SdFilePattern::new(&format!("{}/*", dir.path().display()));
        assert!(pattern.is_err(), "a pattern without extension is rejected");
        let pattern =
            SdFilePattern::new(&format!("{}/*.yaml", dir.path().display())).expect("valid");
        assert_eq!(pattern.expand().expect("glob"), [yaml]);
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad_target = dir.path().join("t.yml");
        fs::write(&bad_target, "- targets: ['xyz+store:1']\n").expect("write");
        let err = read_file(&bad_target).expect_err("bad target");
        assert!(
            matches!(
                &err,
                FileSdError::Target {
                    source: SpecError::UnknownPrefix { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("t.yml"), "{err}");

        let bad_json = dir.path().join("t.json");
        fs::write(&bad_json, "{\"targets\": 1}").expect("write");
        assert!(matches!(
            read_file(&bad_json),
            Err(FileSdError::Parse { .. })
        ));
        assert!(matches!(
            read_file(&dir.path().join("missing.yaml")),
            Err(FileSdError::Read { .. })
        ));

        let empty = dir.path().join("empty.yaml");
        fs::write(&empty, "\n").expect("write");
        assert!(read_file(&empty).expect("empty").is_empty());
    }
}
