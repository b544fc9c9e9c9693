//! Validated domain strings: each newtype is checked once when parsed, so later stages
//! and templates never see a hostile or malformed value.
//!
//! Input: a raw string from the merged config. Output: the newtype, or a message saying
//! what is wrong (the caller locates it).

use std::fmt;

use serde::Serialize;

/// A host: DNS name, IPv4 address or bracketed IPv6 address. Lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Host(String);

impl Host {
    pub fn parse(s: &str) -> Result<Host, String> {
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return match inner.parse::<std::net::Ipv6Addr>() {
                Ok(_) => Ok(Host(s.to_ascii_lowercase())),
                Err(_) => Err(format!("`{s}` is not a valid IPv6 address")),
            };
        }
        if s.is_empty() {
            return Err("the host is empty".into());
        }
        if s.len() > 253 {
            return Err("the host name is longer than 253 characters".into());
        }
        for label in s.trim_end_matches('.').split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(format!(
                    "`{s}` is not a valid host name (letters, digits and `-` in dot-separated labels; use punycode for non-ASCII names)"
                ));
            }
        }
        Ok(Host(s.trim_end_matches('.').to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_loopback(&self) -> bool {
        self.0 == "localhost"
            || self.0 == "[::1]"
            || self.0.starts_with("127.") && self.0.parse::<std::net::Ipv4Addr>().is_ok()
    }
}

/// A public origin: `http(s)://host[:port]`, no path, query or credentials.
/// Normalised: lower-case, default port dropped, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub https: bool,
    pub host: Host,
    /// Only when it differs from the scheme's default.
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        let lower = s.to_ascii_lowercase();
        let (https, rest) = if let Some(r) = lower.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = lower.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "`{s}` is not an absolute http(s) origin such as `https://auth.example.com`"
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if let Some(i) = rest.find(['/', '?', '#']) {
            return Err(format!(
                "`{s}` has a path, query or fragment (`{}`): Logto must be served at the root of its own host name",
                &rest[i..]
            ));
        }
        if rest.contains('@') {
            return Err(format!(
                "`{s}` contains credentials; an endpoint is only scheme, host and port"
            ));
        }
        let (host, port) = split_host_port(rest)?;
        let host = Host::parse(host)?;
        let default = if https { 443 } else { 80 };
        Ok(Endpoint {
            https,
            host,
            port: port.filter(|p| *p != default),
        })
    }

    /// The port clients connect to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// `host[:port]` as a client sends it in the Host header.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host.as_str()),
            None => self.host.as_str().to_string(),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority())
    }
}

/// Split `host[:port]` (host may be `[ipv6]`).
pub fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(i) => {
                let after = &s[i + 1..];
                match after.strip_prefix(':') {
                    Some(p) => (&s[..=i], Some(p)),
                    None if after.is_empty() => (&s[..=i], None),
                    None => return Err(format!("`{s}` is not `host:port`")),
                }
            }
            None => return Err(format!("`{s}` has an unclosed `[`")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => return Err(format!("`{p}` is not a port number between 1 and 65535")),
        },
    };
    Ok((host, port))
}

/// An image reference without tag: `[registry[:port]/]path`, lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ImageRepo(String);

impl ImageRepo {
    pub fn parse(s: &str) -> Result<ImageRepo, String> {
        let segments: Vec<&str> = s.split('/').collect();
        let ok = !s.is_empty()
            && s.len() <= 255
            && segments.iter().enumerate().all(|(i, seg)| {
                if seg.is_empty() {
                    return false;
                }
                if i == 0
                    && segments.len() > 1
                    && (seg.contains('.') || seg.contains(':') || *seg == "localhost")
                {
                    // registry host, optionally with a port
                    return split_host_port(seg)
                        .ok()
                        .and_then(|(h, _)| Host::parse(h).ok())
                        .is_some();
                }
                seg.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                    && seg.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && seg.ends_with(|c: char| c.is_ascii_alphanumeric())
            });
        if ok {
            Ok(ImageRepo(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not an image repository such as `ghcr.io/logto-io/logto` (lower-case, no tag: the tag comes from `version`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("`{tag}` is not a valid image tag"))
    }
}

/// `X.Y.Z`, all numeric.
pub fn parse_version(s: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<&str> = s.split('.').collect();
    let nums: Vec<Option<u32>> = parts
        .iter()
        .map(|p| {
            if !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        })
        .collect();
    match nums.as_slice() {
        [Some(a), Some(b), Some(c)] => Ok((*a, *b, *c)),
        _ => Err(format!(
            "`{s}` is not a pinned version `X.Y.Z` such as `1.43.0`; moving tags like `latest` or `1` change under you"
        )),
    }
}

/// `sha256:<64 lower-case hex>`.
pub fn check_digest(s: &str) -> Result<(), String> {
    match s.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{s}` is not an image digest `sha256:<64 hex digits>`"
        )),
    }
}

/// An environment variable name as shells and Kubernetes accept it.
pub fn check_env_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an environment variable name (upper-case letters, digits and `_`, not starting with a digit)"
        ))
    }
}

/// An absolute path inside a container, with no characters that need quoting anywhere.
pub fn check_container_path(s: &str) -> Result<(), String> {
    let ok = s.starts_with('/')
        && s.len() <= 1024
        && !s.contains("//")
        && !s.split('/').any(|seg| seg == "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an absolute container path made of letters, digits and `/._-+@`"
        ))
    }
}

/// An IP network for nginx `allow` / `set_real_ip_from`: `10.0.0.0/8`, `2001:db8::/32` or a
/// single address. Normalised (a full-length prefix is dropped); host bits must be zero,
/// because nginx silently ignores them and the allow-list would not mean what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Cidr(String);

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: std::net::IpAddr = addr.parse().map_err(|_| {
            format!("`{s}` is not an IP address or network such as `10.0.0.0/8` or `2001:db8::/32`")
        })?;
        let max: u32 = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if n <= max && !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => n,
                _ => return Err(format!("`{p}` is not a prefix length between 0 and {max}")),
            },
        };
        let masked = mask(ip, prefix);
        if masked != ip {
            return Err(format!(
                "`{s}` has host bits set; write the network `{masked}/{prefix}`"
            ));
        }
        Ok(Cidr(if prefix == max {
            ip.to_string()
        } else {
            format!("{ip}/{prefix}")
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn mask(ip: std::net::IpAddr, prefix: u32) -> std::net::IpAddr {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// An nginx version `X.Y` or `X.Y.Z` (a missing patch level counts as 0).
pub fn parse_nginx_version(s: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<Option<u32>> = s
        .split('.')
        .map(|p| {
            if !p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        })
        .collect();
    match parts.as_slice() {
        [Some(a), Some(b)] => Ok((*a, *b, 0)),
        [Some(a), Some(b), Some(c)] => Ok((*a, *b, *c)),
        _ => Err(format!(
            "`{s}` is not an nginx version such as `1.22` or `1.26.3`"
        )),
    }
}

/// An nginx size (`20m`, `512k`, `1g`, `1048576`) in bytes.
pub fn parse_nginx_size(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let (digits, unit) = match lower.strip_suffix(['k', 'm', 'g']) {
        Some(d) => (d, lower.chars().last()),
        None => (lower.as_str(), None),
    };
    let n: u64 = match digits.parse() {
        Ok(n)
            if !digits.is_empty()
                && digits.len() <= 12
                && digits.chars().all(|c| c.is_ascii_digit()) =>
        {
            n
        }
        _ => return Err(format!("`{s}` is not a size such as `20m`, `512k` or `1g`")),
    };
    let factor = match unit {
        Some('k') => 1 << 10,
        Some('m') => 1 << 20,
        Some('g') => 1 << 30,
        _ => 1,
    };
    Ok(n * factor)
}

/// A host directory for a compose bind mount: absolute, or relative to the compose file
/// but outside the output directory (`../certs`): logto-deploy replaces that directory
/// whole and refuses to when it holds files it did not generate, and compose reads a bare
/// name as a named volume. Only characters that need no quoting in compose, YAML or a shell.
pub fn check_host_dir(s: &str) -> Result<(), String> {
    if s.starts_with("./") || s == "." {
        return Err(format!("`{s}` is inside the output directory, which every render replaces; keep certificates outside it, e.g. `../../certs` or `/srv/logto/certs`"));
    }
    let anchored = s.starts_with('/') || s.starts_with("../");
    let ok = anchored
        && s.len() <= 1024
        && !s.contains("//")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a host directory: start it with `/` or `../` (relative to docker-compose.yml) and use letters, digits and `/._-+@`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_normalise() {
        let e = Endpoint::parse("HTTPS://Auth.Example.com:443/").unwrap();
        assert_eq!(e.to_string(), "https://auth.example.com");
        let e = Endpoint::parse("http://localhost:3001").unwrap();
        assert_eq!(e.to_string(), "http://localhost:3001");
        assert_eq!(e.authority(), "localhost:3001");
        let e = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!(e.authority(), "[::1]:8443");
    }

    #[test]
    fn endpoints_reject_paths_and_junk() {
        for bad in [
            "auth.example.com",
            "https://a.com/logto",
            "https://a.com?x",
            "https://u:p@a.com",
            "https://a.com:0",
            "https://a.com:99999",
            "https://a b.com",
            "https://a.com;x",
            "https://$host",
            "ftp://a.com",
            "https://",
            "https://-a.com",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn image_repos() {
        for good in [
            "ghcr.io/logto-io/logto",
            "svhd/logto",
            "localhost:5000/logto",
            "registry.example.com:5000/a/b",
        ] {
            assert!(ImageRepo::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ghcr.io/logto-io/logto:1.0",
            "Logto",
            "a//b",
            "a/b\"",
            "",
            "a/b c",
        ] {
            assert!(ImageRepo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_must_be_pinned() {
        assert_eq!(parse_version("1.43.0").unwrap(), (1, 43, 0));
        for bad in ["latest", "1", "1.43", "1.43.0-rc1", "v1.2.3", "1..3"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names_and_paths() {
        assert!(check_env_name("NODE_OPTIONS").is_ok());
        assert!(check_env_name("1A").is_err());
        assert!(check_env_name("a").is_err());
        assert!(check_container_path("/etc/logto/certs/tls.crt").is_ok());
        for bad in ["relative", "/a/../b", "/a b", "/a;b", "/a$b", "/a\"b"] {
            assert!(check_container_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(Cidr::parse("10.0.0.0/8").unwrap().as_str(), "10.0.0.0/8");
        assert_eq!(Cidr::parse("127.0.0.2").unwrap().as_str(), "127.0.0.2");
        assert_eq!(Cidr::parse("127.0.0.2/32").unwrap().as_str(), "127.0.0.2");
        assert_eq!(
            Cidr::parse("2001:DB8::/32").unwrap().as_str(),
            "2001:db8::/32"
        );
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().as_str(), "0.0.0.0/0");
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "all",
            "10.0.0.0/8; allow all",
            "10.0.0.0/8\n",
            "",
            "::1/129",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nginx_versions_and_sizes() {
        assert_eq!(parse_nginx_version("1.22").unwrap(), (1, 22, 0));
        assert_eq!(parse_nginx_version("1.25.1").unwrap(), (1, 25, 1));
        for bad in ["1", "1.x", "v1.22", "1.22.0.1", ""] {
            assert!(parse_nginx_version(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_nginx_size("20m").unwrap(), 20 << 20);
        assert_eq!(parse_nginx_size("20M").unwrap(), 20 << 20);
        assert_eq!(parse_nginx_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_nginx_size("4096").unwrap(), 4096);
        for bad in ["", "m", "20mb", "-1m", "20 m", "1e3"] {
            assert!(parse_nginx_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_dirs() {
        for good in ["../certs", "../../certs/staging", "/etc/ssl/logto"] {
            assert!(check_host_dir(good).is_ok(), "{good}");
        }
        for bad in ["certs", "./certs", "../a b", "../a:b", "/a$b", "", "/a;b"] {
            assert!(check_host_dir(bad).is_err(), "{bad}");
        }
    }
}
