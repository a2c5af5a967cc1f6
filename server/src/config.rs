//! Configuration from environment variables, with defaults that run on a laptop.
//!
//! The variables, their defaults and meanings are in one table: the README's
//! *Configuration* section. A variable added here is added there.

use std::env;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The server's settings.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The MongoDB connection string; `None` starts the embedded database.
    pub mongodb_uri: Option<String>,
    /// Database name.
    pub db_name: String,
    /// Data directory of the embedded database.
    pub data_dir: PathBuf,
    /// Explicit path of the embedded database binary.
    pub db_bin: Option<PathBuf>,
    /// Whether the session cookie is `Secure` (and HSTS is sent).
    pub cookie_secure: bool,
    /// The origin browsers use (`scheme://host[:port]`), when it is not the `Host`.
    pub public_origin: Option<String>,
    /// Header naming the client's address, set by a trusted proxy.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// The build id (`None`: hash the site's files).
    pub build_id: Option<String>,
    /// Log filter.
    pub log: String,
    /// Conflict strategy and history size.
    pub conflicts: crate::storage::Conflicts,
    /// Whether `GET /metrics` is served.
    pub metrics: bool,
    /// Limits of the live channel (`TERN_LIVE_PER_USER`, `TERN_LIVE_MAX`).
    pub live: crate::live::LiveLimits,
    /// Days a deleted note stays restorable before the trash sweep purges it
    /// (`TERN_TRASH_DAYS`).
    pub trash_days: u32,
}

/// A setting that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("{var}={value:?} is not valid: {why}")]
pub struct ConfigError {
    var: &'static str,
    value: String,
    why: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let (var, addr) = match get("TERN_ADDR") {
            Some(a) => ("TERN_ADDR", a),
            None => (
                "LEPTOS_SITE_ADDR",
                get("LEPTOS_SITE_ADDR").unwrap_or("127.0.0.1:3000".into()),
            ),
        };
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError {
                var,
                value: addr.clone(),
                why: format!("{e}; use host:port such as 127.0.0.1:3000"),
            })?;
        let cookie_secure = match get("TERN_COOKIE_SECURE").as_deref() {
            None => !addr.ip().is_loopback(),
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(ConfigError {
                    var: "TERN_COOKIE_SECURE",
                    value: other.into(),
                    why: "use true or false".into(),
                });
            }
        };
        let default = match get("TERN_CONFLICT_STRATEGY") {
            None => sync_core::Strategy::Merge,
            Some(v) => match v.parse::<sync_core::Strategy>() {
                Ok(s) if !s.is_default() => s,
                _ => {
                    return Err(ConfigError {
                        var: "TERN_CONFLICT_STRATEGY",
                        value: v,
                        why: "use lww, merge or manual".into(),
                    });
                }
            },
        };
        let metrics = match get("TERN_METRICS").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError {
                    var: "TERN_METRICS",
                    value: other.into(),
                    why: "use on or off".into(),
                });
            }
        };
        let history_limit = match get("TERN_HISTORY_LIMIT") {
            None => 50,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        var: "TERN_HISTORY_LIMIT",
                        value: v,
                        why: "use a number of revisions from 1 to 1000".into(),
                    });
                }
            },
        };
        let trash_days = match get("TERN_TRASH_DAYS") {
            None => sync_core::limits::TRASH_DAYS,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=36_500).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        var: "TERN_TRASH_DAYS",
                        value: v,
                        why: "use a number of days from 1 to 36500".into(),
                    });
                }
            },
        };
        let count = |var: &'static str, default: usize| match get(var) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                _ => Err(ConfigError {
                    var,
                    value: v,
                    why: "use a number of connections from 1 to 1000000".into(),
                }),
            },
        };
        let defaults = crate::live::LiveLimits::default();
        let live = crate::live::LiveLimits {
            per_user: count("TERN_LIVE_PER_USER", defaults.per_user)?,
            total: count("TERN_LIVE_MAX", defaults.total)?,
            max_age: defaults.max_age,
        };
        let build_id = get("TERN_BUILD_ID");
        if let Some(id) = build_id
            .as_deref()
            .filter(|id| !crate::pwa::valid_build_id(id))
        {
            return Err(ConfigError {
                var: "TERN_BUILD_ID",
                value: id.into(),
                why: "use 1 to 64 letters, digits, '.', '_' or '-'".into(),
            });
        }
        let public_origin = match get("TERN_PUBLIC_ORIGIN") {
            None => None,
            Some(v) => Some(parse_origin(&v).ok_or_else(|| {
                ConfigError {
                    var: "TERN_PUBLIC_ORIGIN",
                    value: v.clone(),
                    why: "use scheme://host[:port] with no path, such as https://notes.example.com"
                        .into(),
                }
            })?),
        };
        let client_ip_header = match get("TERN_CLIENT_IP_HEADER") {
            None => None,
            Some(v) => Some(
                v.parse::<axum::http::HeaderName>()
                    .map_err(|_| ConfigError {
                        var: "TERN_CLIENT_IP_HEADER",
                        value: v.clone(),
                        why: "use a header name such as X-Forwarded-For or X-Real-IP".into(),
                    })?,
            ),
        };
        Ok(Self {
            addr,
            cookie_secure,
            metrics,
            public_origin,
            client_ip_header,
            build_id,
            live,
            trash_days,
            conflicts: crate::storage::Conflicts {
                default,
                history_limit,
            },
            mongodb_uri: get("MONGODB_URI"),
            db_name: get("TERN_DB_NAME").unwrap_or_else(|| "tern".into()),
            data_dir: get("TERN_DATA_DIR").unwrap_or_else(|| "data".into()).into(),
            db_bin: get("TERN_DB_BIN").map(PathBuf::from),
            log: get("RUST_LOG").unwrap_or_else(|| "info".into()),
        })
    }
}

/// `scheme://host[:port]` in lower case without a trailing `/`, if `v` is an http(s) origin.
fn parse_origin(v: &str) -> Option<String> {
    let v = v.trim().trim_end_matches('/').to_ascii_lowercase();
    // Browsers leave the scheme's default port out of `Origin`.
    let v = match v.strip_suffix(":443").or_else(|| v.strip_suffix(":80")) {
        Some(bare) if v.starts_with("https://") == v.ends_with(":443") => bare.to_owned(),
        _ => v,
    };
    let (scheme, host) = v.split_once("://")?;
    let ok = matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then_some(v)
}

/// `mongodb://user:secret@host` shown as `mongodb://user:***@host`.
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return "***".into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let creds = &rest[..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        None => uri.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("mongodb_uri", &self.mongodb_uri.as_deref().map(redact_uri))
            .field("db_name", &self.db_name)
            .field("data_dir", &self.data_dir)
            .field("db_bin", &self.db_bin)
            .field("cookie_secure", &self.cookie_secure)
            .field("public_origin", &self.public_origin)
            .field("client_ip_header", &self.client_ip_header)
            .field("build_id", &self.build_id)
            .field("log", &self.log)
            .field("conflicts", &self.conflicts)
            .field("metrics", &self.metrics)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_run_locally_on_the_embedded_database() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.mongodb_uri, None);
        assert_eq!(c.db_name, "tern");
        assert_eq!(c.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn the_conflict_strategy_and_history_are_configurable() {
        let c = config(&[]).unwrap();
        assert_eq!(c.conflicts.default, sync_core::Strategy::Merge);
        assert_eq!(c.conflicts.history_limit, 50);
        let c = config(&[
            ("TERN_CONFLICT_STRATEGY", "manual"),
            ("TERN_HISTORY_LIMIT", "5"),
        ])
        .unwrap();
        assert_eq!(
            (c.conflicts.default, c.conflicts.history_limit),
            (sync_core::Strategy::Manual, 5)
        );
        let e = config(&[("TERN_CONFLICT_STRATEGY", "newest")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("use lww, merge or manual"), "{e}");
        assert!(config(&[("TERN_HISTORY_LIMIT", "0")]).is_err());
    }

    #[test]
    fn the_trash_keeps_notes_30_days_unless_told() {
        assert_eq!(config(&[]).unwrap().trash_days, 30);
        assert_eq!(config(&[("TERN_TRASH_DAYS", "7")]).unwrap().trash_days, 7);
        let e = config(&[("TERN_TRASH_DAYS", "0")]).unwrap_err().to_string();
        assert!(e.contains("from 1 to 36500"), "{e}");
    }

    #[test]
    fn metrics_are_served_unless_switched_off() {
        assert!(config(&[]).unwrap().metrics);
        assert!(config(&[("TERN_METRICS", "on")]).unwrap().metrics);
        assert!(!config(&[("TERN_METRICS", "off")]).unwrap().metrics);
        let e = config(&[("TERN_METRICS", "yes")]).unwrap_err().to_string();
        assert!(e.contains("use on or off"), "{e}");
    }

    #[test]
    fn a_bad_address_names_the_variable() {
        let e = config(&[("TERN_ADDR", "nope")]).unwrap_err().to_string();
        assert!(e.starts_with("TERN_ADDR=\"nope\" is not valid"), "{e}");
    }

    #[test]
    fn a_build_id_must_be_safe_to_embed() {
        assert_eq!(
            config(&[("TERN_BUILD_ID", "r42")])
                .unwrap()
                .build_id
                .as_deref(),
            Some("r42")
        );
        let e = config(&[("TERN_BUILD_ID", "a'b")]).unwrap_err().to_string();
        assert!(e.starts_with("TERN_BUILD_ID=\"a'b\" is not valid"), "{e}");
    }

    #[test]
    fn the_public_origin_and_client_address_header_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!((c.public_origin, c.client_ip_header), (None, None));
        let c = config(&[
            ("TERN_PUBLIC_ORIGIN", "https://Notes.example.com/"),
            ("TERN_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ])
        .unwrap();
        assert_eq!(
            c.public_origin.as_deref(),
            Some("https://notes.example.com")
        );
        assert_eq!(c.client_ip_header.unwrap().as_str(), "x-forwarded-for");
        let origin = |v| config(&[("TERN_PUBLIC_ORIGIN", v)]).unwrap().public_origin;
        assert_eq!(
            origin("https://x.example:443").as_deref(),
            Some("https://x.example")
        );
        assert_eq!(
            origin("http://x.example:80").as_deref(),
            Some("http://x.example")
        );
        assert_eq!(
            origin("http://x.example:443").as_deref(),
            Some("http://x.example:443")
        );
        assert_eq!(
            origin("https://x.example:8443").as_deref(),
            Some("https://x.example:8443")
        );
        for bad in [
            "notes.example.com",
            "https://x.example/app",
            "ftp://x.example",
        ] {
            let e = config(&[("TERN_PUBLIC_ORIGIN", bad)])
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("TERN_PUBLIC_ORIGIN="), "{e}");
        }
        assert!(config(&[("TERN_CLIENT_IP_HEADER", "bad header")]).is_err());
    }

    #[test]
    fn secrets_are_never_printed() {
        let c = config(&[("MONGODB_URI", "mongodb+srv://ann:hunter2@c0.example.net/x")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("mongodb+srv://ann:***@c0.example.net/x"),
            "{shown}"
        );
    }
}
