//! Resolve the `[database]` and `[redis]` tables: defaults, the bundled/external rules,
//! and the URL parsers that keep passwords out of `logto.toml`.

use super::super::model::*;
use super::super::raw::*;
use super::super::types::{self, split_host_port, Host, ImageRepo};
use super::Ctx;

pub(super) fn resolve_database(cx: &mut Ctx, raw: Option<&RawDatabase>) -> Option<Database> {
    let default = RawDatabase::default();
    let raw = raw.unwrap_or(&default);
    let mode = raw.mode.unwrap_or(DatabaseMode::Bundled);
    let kind = match mode {
        DatabaseMode::Bundled => {
            for (field, set) in [
                ("url", raw.url.is_some()),
                ("password-env", raw.password_env.is_some()),
            ] {
                if set {
                    cx.inapplicable(&format!("/database/{field}"), "/database/mode", format!("`database.{field}` is only used with `mode = \"external\"`"), "the bundled database gets a generated password; remove this line or set `mode = \"external\"`".into());
                }
            }
            let image = raw
                .postgres_image
                .clone()
                .unwrap_or_else(|| super::DEFAULT_POSTGRES_IMAGE.into());
            let major = cx.parse("/database/postgres-image", postgres_major(&image), None);
            let name = raw.name.clone().unwrap_or_else(|| "logto".into());
            let name_ok = cx.parse("/database/name", check_db_name(&name), None);
            let user = raw.user.clone().unwrap_or_else(|| "postgres".into());
            let user_ok = cx.parse(
                "/database/user",
                check_identifier(&user, "a Postgres user name"),
                None,
            );
            name_ok?;
            user_ok?;
            DatabaseKind::Bundled {
                image,
                major: major?,
                name,
                user,
            }
        }
        DatabaseMode::External => {
            for (field, set) in [
                ("postgres-image", raw.postgres_image.is_some()),
                ("name", raw.name.is_some()),
                ("user", raw.user.is_some()),
            ] {
                if set {
                    cx.inapplicable(
                        &format!("/database/{field}"),
                        "/database/mode",
                        format!("`database.{field}` is only used with the bundled database"),
                        "with `mode = \"external\"` the user and database name are part of `url`"
                            .into(),
                    );
                }
            }
            let Some(url) = &raw.url else {
                cx.err_key("/database", "`database.url` is required with `mode = \"external\"`", Some("e.g. `url = \"postgres://logto@db.internal:5432/logto\"` and `password-env = \"LOGTO_DB_PASSWORD\"`".into()));
                return None;
            };
            let url = cx.parse("/database/url", parse_db_url(url), None)?;
            let password_env = match &raw.password_env {
                Some(n) => Some(cx.parse(
                    "/database/password-env",
                    types::check_env_name(n).map(|_| n.clone()),
                    None,
                )?),
                None => None,
            };
            DatabaseKind::External { url, password_env }
        }
    };
    if raw.disable_statement_timeout == Some(true) && raw.statement_timeout_ms.is_some() {
        cx.err(
            "/database/statement-timeout-ms",
            "`database.statement-timeout-ms` is set but `disable-statement-timeout = true`",
            Some("keep one of the two".into()),
        );
    }
    let pool_size = raw.pool_size.unwrap_or(20);
    if pool_size * 3 >= 100 {
        cx.warn("/database/pool-size", format!("3 pools of {pool_size} connections per Logto process need {} connections", pool_size * 3), Some("Postgres allows 100 by default (`max_connections`); lower `pool-size` or raise max_connections".into()));
    }
    Some(Database {
        kind,
        pool_size,
        connection_timeout_ms: raw.connection_timeout_ms.unwrap_or(5000),
        statement_timeout_ms: if raw.disable_statement_timeout == Some(true) {
            None
        } else {
            Some(raw.statement_timeout_ms.unwrap_or(60000))
        },
    })
}

/// The Postgres major version from an image reference like `postgres:17.6-alpine`.
pub(super) fn postgres_major(image: &str) -> Result<u32, String> {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => return Err(format!("`{image}` has no tag; pin the major version, e.g. `postgres:17.6-alpine` (a new major cannot read the old data directory)")),
    };
    let tag = tag.split('@').next().unwrap_or(tag);
    ImageRepo::parse(repo)?;
    types::check_tag(tag)?;
    let major: String = tag.chars().take_while(char::is_ascii_digit).collect();
    match major.parse::<u32>() {
        Ok(m) if (9..=99).contains(&m) => Ok(m),
        _ => Err(format!("the tag of `{image}` does not start with a Postgres major version; pin one, e.g. `postgres:17.6-alpine`")),
    }
}

/// Logto puts the database name unquoted into `create role logto_tenant_<db>`.
pub(super) fn check_db_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a usable database name: Logto needs letters, digits, `_` and `-`, at most 50 characters"))
    }
}

pub(super) fn check_identifier(s: &str, what: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not {what} (letters, digits and `_`, at most 63)"
        ))
    }
}

pub(super) fn url_safe(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c) || extra.contains(c))
        && valid_percent_escapes(s)
}

pub(super) fn valid_percent_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Parse `postgres[ql]://user@host[:port]/db[?query]`.
pub fn parse_db_url(s: &str) -> Result<DbUrl, String> {
    let (scheme, rest) = s.split_once("://").ok_or_else(|| {
        format!("`{s}` is not a URL like `postgres://logto@db.internal:5432/logto`")
    })?;
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(format!(
            "the scheme `{scheme}` is not `postgres` or `postgresql`"
        ));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q.to_string())),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    if before_query[..authority_end]
        .rsplit_once('@')
        .is_some_and(|(u, _)| u.contains(':'))
    {
        return Err("the URL contains a password; never write it in logto.toml: set `password-env` to the name of a variable that holds it".into());
    }
    let (authority, database) = before_query.split_once('/').ok_or_else(|| {
        "the URL names no database: Logto needs one, e.g. `…:5432/logto`".to_string()
    })?;
    if database.is_empty() {
        return Err("the URL names no database: Logto needs one, e.g. `…:5432/logto`".into());
    }
    check_db_name(database)?;
    let (userinfo, hostport) = authority.rsplit_once('@').ok_or_else(|| {
        "the URL names no user, e.g. `postgres://logto@db.internal/logto`".to_string()
    })?;
    if userinfo.contains(':') {
        return Err("the URL contains a password; never write it in logto.toml".into());
    }
    if userinfo.is_empty() || !url_safe(userinfo, "") {
        return Err(format!(
            "the user `{userinfo}` must be non-empty and percent-encoded"
        ));
    }
    let (host, port) = split_host_port(hostport)?;
    let host = Host::parse(host)?;
    if let Some(q) = &query {
        if q.is_empty() || !url_safe(q, "=&/:,") {
            return Err(format!("the query `{q}` may only hold `name=value` pairs joined by `&` (percent-encode anything else)"));
        }
    }
    Ok(DbUrl {
        scheme: scheme.into(),
        user: userinfo.into(),
        host,
        port,
        database: database.into(),
        query,
    })
}

pub(super) fn resolve_redis(cx: &mut Ctx, raw: &RawRedis) -> Option<Redis> {
    let Some(url) = &raw.url else {
        if raw.password_env.is_some() {
            cx.err(
                "/redis/password-env",
                "`redis.password-env` is set but `redis.url` is not",
                Some("add `url = \"redis://redis:6379\"`".into()),
            );
        }
        return None;
    };
    let url = cx.parse("/redis/url", parse_redis_url(url), None)?;
    let password_env = match &raw.password_env {
        Some(n) => Some(cx.parse(
            "/redis/password-env",
            types::check_env_name(n).map(|_| n.clone()),
            None,
        )?),
        None => None,
    };
    Some(Redis { url, password_env })
}

pub fn parse_redis_url(s: &str) -> Result<RedisUrl, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("`{s}` is not a URL like `redis://redis:6379`"))?;
    if scheme != "redis" && scheme != "rediss" {
        return Err(format!("the scheme `{scheme}` is not `redis` or `rediss`"));
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => {
            if u.contains(':') {
                return Err("the URL contains a password; set `redis.password-env` instead".into());
            }
            if u.is_empty() || !url_safe(u, "") {
                return Err(format!(
                    "the user `{u}` must be non-empty and percent-encoded"
                ));
            }
            (Some(u.to_string()), h)
        }
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    let host = Host::parse(host)?;
    if !url_safe(tail, "=&/:,?") {
        return Err(format!(
            "`{tail}` may only hold a database number and `name=value` pairs"
        ));
    }
    Ok(RedisUrl {
        scheme: scheme.into(),
        user,
        host,
        port,
        rest: tail.into(),
    })
}
