//! Stage 4, nginx part: defaults and cross-field rules of the `[nginx]` table, and of the
//! compose mounts of `[https]`.
//!
//! Input: the merged `RawNginx` plus the already resolved endpoints, ports and compose
//! settings. Output: `Some(Some(Nginx))`, `Some(None)` when nginx is off, or `None` after
//! recording located errors. Every value that reaches an nginx file is a validated newtype
//! or a checked path here, so it cannot inject directives.

use super::Ctx;
use crate::config::model::{Admin, Compose, Https, Logto, Nginx, NginxCompose, NginxTls};
use crate::config::raw::{AdminUpstream, NginxTlsMode, RawNginx};
use crate::config::types::{self, Cidr, Endpoint, Host, ImageRepo};

pub const DEFAULT_NGINX_IMAGE: &str = "nginx:1.28.0-alpine";
/// Without a compose service we cannot know the version: Debian 12's nginx.
const DEFAULT_MIN_VERSION: (u32, u32, u32) = (1, 22, 0);
/// `ssl_reject_handshake`, which the default server relies on, exists from 1.19.4.
const OLDEST_VERSION: (u32, u32, u32) = (1, 19, 4);
/// Logto accepts uploads (connector packages, logos, sign-in UI zips) up to 20 MB.
const MIN_BODY_SIZE: u64 = 20 << 20;

/// The resolved values this stage reads from the rest of the config.
pub(super) struct Inputs<'a> {
    pub logto: Option<&'a Logto>,
    pub admin: Option<&'a Admin>,
    pub compose: Option<&'a Compose>,
}

pub(super) fn resolve_nginx(
    cx: &mut Ctx,
    raw: Option<&RawNginx>,
    inputs: Inputs,
) -> Option<Option<Nginx>> {
    let Some(raw) = raw.filter(|r| r.enabled == Some(true)) else {
        return Some(None);
    };
    // Every check below runs even after a failure, so all problems are reported at once;
    // the result is usable only when none of them added an error.
    let errors = |cx: &Ctx| {
        cx.diags
            .iter()
            .filter(|d| d.severity == crate::error::Severity::Error)
            .count()
    };
    let errors_before = errors(cx);
    // Errors in the endpoints were reported already; nothing sensible can be routed.
    let (Some(logto), Some(admin), Some(compose)) = (inputs.logto, inputs.admin, inputs.compose)
    else {
        return None;
    };
    let main = &logto.endpoint;
    let admin_ep = admin.endpoint.as_ref().filter(|_| admin.enabled);
    let mode = raw.tls.unwrap_or(if main.https {
        NginxTlsMode::Nginx
    } else {
        NginxTlsMode::None
    });
    check_schemes(cx, mode, main, admin_ep);
    let compose_service = raw.compose_service == Some(true);

    let tls = resolve_tls(cx, raw, mode, compose_service);
    if raw.hsts == Some(true) && mode == NginxTlsMode::None {
        cx.err(
            "/nginx/hsts",
            "`nginx.hsts = true` with `tls = \"none\"`",
            Some("browsers ignore HSTS over plain http; remove it or serve https".into()),
        );
    }
    let admin_allow = list(cx, "admin-allow", raw.admin_allow.as_deref(), Cidr::parse);
    if !admin_allow.is_empty() && admin_ep.is_none() {
        cx.err(
            "/nginx/admin-allow",
            "`nginx.admin-allow` is set but no admin host is routed",
            Some("set `admin.endpoint` (and keep `admin.enabled`), or remove `admin-allow`".into()),
        );
    }
    if let Some(NginxTls::UpstreamBalancer { real_ip_from }) = &tls {
        if !admin_allow.is_empty() && real_ip_from.is_empty() {
            cx.err("/nginx/admin-allow", "`nginx.admin-allow` with `tls = \"upstream-balancer\"` needs `nginx.real-ip-from`", Some("behind a balancer every request comes from the balancer's address: list it in `real-ip-from` so nginx checks the client's address from X-Forwarded-For".into()));
        }
        if admin_ep.is_some_and(|a| a.host == main.host) {
            cx.err("/admin/endpoint", "`admin.endpoint` and `logto.endpoint` share a host name behind `tls = \"upstream-balancer\"`", Some("nginx then listens on one port for both and can only tell them apart by host name: give the console its own host".into()));
        }
    }

    let (image, image_version) = if compose_service {
        let image = raw.image.as_deref().unwrap_or(DEFAULT_NGINX_IMAGE);
        let v = cx.parse("/nginx/image", image_version(image), None);
        (Some(image.to_string()), v)
    } else {
        if raw.image.is_some() {
            cx.inapplicable(
                "/nginx/image",
                "/nginx/compose-service",
                "`nginx.image` is only used with `compose-service = true`".into(),
                "remove it, or set `compose-service = true`".into(),
            );
        }
        (None, None)
    };
    let min_version = match &raw.min_version {
        Some(v) => cx
            .parse("/nginx/min-version", types::parse_nginx_version(v), None)
            .unwrap_or(DEFAULT_MIN_VERSION),
        None => image_version.unwrap_or(DEFAULT_MIN_VERSION),
    };
    if min_version < OLDEST_VERSION {
        cx.err("/nginx/min-version", format!("`nginx.min-version` {} is older than 1.19.4", dotted_version(min_version)), Some("default-server.conf refuses TLS for unknown hosts with `ssl_reject_handshake` (1.19.4+): upgrade nginx".into()));
    }
    if let Some(iv) = image_version.filter(|iv| *iv < min_version) {
        cx.err(
            "/nginx/min-version",
            format!(
                "`nginx.min-version` {} is newer than the compose image's nginx {}",
                dotted_version(min_version),
                dotted_version(iv)
            ),
            Some("raise the image tag, or lower `min-version`".into()),
        );
    }

    let upstreams = upstreams(cx, raw, compose_service, compose);
    if compose_service {
        for field in ["publish-address", "admin-publish-address"] {
            if cx.loc.is_set(&format!("/compose/{field}")) {
                cx.inapplicable(&format!("/compose/{field}"), "/nginx/compose-service", format!("`compose.{field}` is set but Logto's ports are not published with the nginx compose service"), "nginx reaches Logto on the compose network: remove this line".into());
            }
        }
    }
    let listen = list(cx, "listen", raw.listen.as_deref(), |s| {
        s.parse::<std::net::IpAddr>()
            .map_err(|_| format!("`{s}` is not an IP address"))
    });
    if compose_service && !listen.is_empty() {
        cx.inapplicable("/nginx/listen", "/nginx/compose-service", "`nginx.listen` is not used with `compose-service = true`".into(), "inside the container nginx listens on every address; compose publishes its ports: remove it".into());
    }
    let http_port = raw.http_port.unwrap_or(80);
    match mode {
        NginxTlsMode::None if raw.http_port.is_some() => {
            cx.inapplicable(
                "/nginx/http-port",
                "/nginx/tls",
                "`nginx.http-port` is not used with `tls = \"none\"`".into(),
                "nginx listens on the endpoints' own ports: remove it".into(),
            );
        }
        NginxTlsMode::Nginx => {
            for ep in std::iter::once(main).chain(admin_ep) {
                if ep.effective_port() == http_port {
                    cx.err(
                        "/nginx/http-port",
                        format!("`nginx.http-port` {http_port} is also the https port of `{ep}`"),
                        Some("use another port for the http → https redirect (default 80)".into()),
                    );
                }
            }
        }
        _ => {}
    }
    let size = raw.client_max_body_size.as_deref().unwrap_or("20m");
    if let Some(bytes) = cx.parse(
        "/nginx/client-max-body-size",
        types::parse_nginx_size(size),
        None,
    ) {
        if bytes < MIN_BODY_SIZE {
            cx.err("/nginx/client-max-body-size", format!("`nginx.client-max-body-size` `{size}` is below 20m"), Some("Logto accepts uploads (connector packages, logos, sign-in UI zips) up to 20 MB".into()));
        }
    }
    let (Some(tls), Some((upstream_hosts, admin_upstream_hosts))) = (tls, upstreams) else {
        return None;
    };
    (errors(cx) == errors_before).then(|| {
        Some(Nginx {
            tls,
            // Secure by default wherever the browser sees https.
            hsts: raw.hsts.unwrap_or(mode != NginxTlsMode::None),
            admin_allow,
            min_version,
            upstream_hosts,
            admin_upstream_hosts,
            admin_to_admin_port: raw.admin_upstream != Some(AdminUpstream::MainPort),
            keepalive: raw.keepalive.unwrap_or(32),
            listen,
            http_port,
            client_max_body_size: size.to_ascii_lowercase(),
            compose: image.map(|image| NginxCompose { image }),
        })
    })
}

fn dotted_version((a, b, c): (u32, u32, u32)) -> String {
    format!("{a}.{b}.{c}")
}

/// Logto derives its origin from the Host and proto it is sent, so the scheme clients use
/// (the endpoint's) must be the one the proxy chain actually serves.
fn check_schemes(cx: &mut Ctx, mode: NginxTlsMode, main: &Endpoint, admin: Option<&Endpoint>) {
    for (pointer, ep) in [("/logto/endpoint", Some(main)), ("/admin/endpoint", admin)] {
        let Some(ep) = ep else { continue };
        let at = if cx.loc.is_set("/nginx/tls") {
            "/nginx/tls"
        } else {
            pointer
        };
        let field = super::super::source::dotted(pointer);
        match mode {
            NginxTlsMode::None if ep.https => {
                cx.err(at, format!("`{field}` `{ep}` is https but nothing terminates TLS (`nginx.tls = \"none\"`)"), Some("set `tls = \"nginx\"` (nginx holds the certificate) or `tls = \"upstream-balancer\"` (a balancer in front does)".into()));
            }
            NginxTlsMode::Nginx | NginxTlsMode::UpstreamBalancer if !ep.https => {
                cx.err(at, format!("`{field}` `{ep}` is plain http but the proxy serves https"), Some("write the endpoint with https (Logto compares it with the proto it is sent), or set `nginx.tls = \"none\"`".into()));
            }
            _ => {}
        }
    }
}

fn resolve_tls(
    cx: &mut Ctx,
    raw: &RawNginx,
    mode: NginxTlsMode,
    compose_service: bool,
) -> Option<NginxTls> {
    let only_with = |cx: &mut Ctx, field: &str, set: bool, wanted: &str| {
        if set {
            cx.inapplicable(
                &format!("/nginx/{field}"),
                "/nginx/tls",
                format!("`nginx.{field}` applies only to `tls = \"{wanted}\"`"),
                format!("remove it, or set `tls = \"{wanted}\"`"),
            );
        }
    };
    if mode != NginxTlsMode::Nginx {
        only_with(cx, "certificate", raw.certificate.is_some(), "nginx");
        only_with(
            cx,
            "certificate-key",
            raw.certificate_key.is_some(),
            "nginx",
        );
        only_with(
            cx,
            "certificate-host-dir",
            raw.certificate_host_dir.is_some(),
            "nginx",
        );
    }
    if mode != NginxTlsMode::UpstreamBalancer {
        only_with(
            cx,
            "real-ip-from",
            raw.real_ip_from.is_some(),
            "upstream-balancer",
        );
    }
    match mode {
        NginxTlsMode::Nginx => {
            let mut path = |field: &str, v: &Option<String>| -> Option<String> {
                let Some(v) = v else {
                    cx.err_key("/nginx", format!("`nginx.{field}` is required with `tls = \"nginx\"`"), Some("the path nginx reads it from, e.g. `certificate = \"/etc/nginx/certs/fullchain.pem\"` and `certificate-key = \"/etc/nginx/certs/privkey.pem\"`".into()));
                    return None;
                };
                cx.parse(
                    &format!("/nginx/{field}"),
                    types::check_container_path(v).map(|_| v.clone()),
                    None,
                )
            };
            let certificate = path("certificate", &raw.certificate);
            let certificate_key = path("certificate-key", &raw.certificate_key);
            let host_dir = match (&raw.certificate_host_dir, compose_service) {
                (Some(d), true) => Some(cx.parse(
                    "/nginx/certificate-host-dir",
                    types::check_host_dir(d).map(|_| d.clone()),
                    None,
                )?),
                (Some(_), false) => {
                    cx.inapplicable(
                        "/nginx/certificate-host-dir",
                        "/nginx/compose-service",
                        "`nginx.certificate-host-dir` is only used with `compose-service = true`"
                            .into(),
                        "remove it, or set `compose-service = true`".into(),
                    );
                    None
                }
                (None, true) => {
                    cx.err("/nginx/compose-service", "the nginx compose service needs `nginx.certificate-host-dir`", Some("name the host directory holding the certificate and key, e.g. `certificate-host-dir = \"./certs\"`".into()));
                    return None;
                }
                (None, false) => None,
            };
            let (certificate, certificate_key) = (certificate?, certificate_key?);
            if host_dir.is_some() && parent(&certificate) != parent(&certificate_key) {
                cx.err(
                    "/nginx/certificate-key",
                    "`nginx.certificate` and `nginx.certificate-key` are in different directories",
                    Some(
                        "`certificate-host-dir` is mounted at one directory: put both files in it"
                            .into(),
                    ),
                );
                return None;
            }
            Some(NginxTls::Nginx {
                certificate,
                certificate_key,
                host_dir,
            })
        }
        NginxTlsMode::UpstreamBalancer => Some(NginxTls::UpstreamBalancer {
            real_ip_from: list(cx, "real-ip-from", raw.real_ip_from.as_deref(), Cidr::parse),
        }),
        NginxTlsMode::None => Some(NginxTls::None),
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The hosts of the main and admin upstreams. Without a compose service nginx runs beside
/// the compose stack and reaches the ports it publishes.
fn upstreams(
    cx: &mut Ctx,
    raw: &RawNginx,
    compose_service: bool,
    compose: &Compose,
) -> Option<(Vec<Host>, Vec<Host>)> {
    if let Some(hosts) = &raw.upstream_hosts {
        if hosts.is_empty() {
            cx.err(
                "/nginx/upstream-hosts",
                "`nginx.upstream-hosts` is empty",
                Some("list the hosts Logto runs on, or remove the line".into()),
            );
            return None;
        }
        let hosts = list(cx, "upstream-hosts", Some(hosts), Host::parse);
        return Some((hosts.clone(), hosts));
    }
    if compose_service {
        let logto = Host::parse("logto").ok()?;
        return Some((vec![logto.clone()], vec![logto]));
    }
    let reachable = |address: &str| -> Option<Host> {
        let host = match address {
            "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            a => a,
        };
        Host::parse(host).ok()
    };
    Some((
        vec![reachable(&compose.publish_address)?],
        vec![reachable(&compose.admin_publish_address)?],
    ))
}

/// The nginx version of an image such as `nginx:1.28.0-alpine`.
fn image_version(image: &str) -> Result<(u32, u32, u32), String> {
    let pinned = format!("pin a version, e.g. `{DEFAULT_NGINX_IMAGE}`");
    let Some((repo, tag)) = image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) else {
        return Err(format!("`{image}` has no tag; {pinned}"));
    };
    ImageRepo::parse(repo)?;
    types::check_tag(tag)?;
    let version = tag.split('-').next().unwrap_or(tag);
    types::parse_version(version).map_err(|_| {
        format!("the tag of `{image}` does not start with an nginx version `X.Y.Z`; {pinned}")
    })
}

/// Parse every item of a list option, locating each error at its item (and leaving the
/// item out: the caller sees the error count grow).
fn list<T>(
    cx: &mut Ctx,
    field: &str,
    items: Option<&[String]>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let help = match field {
        "upstream-hosts" => {
            Some("host names or addresses only: the ports are `logto.port` and `admin.port`")
        }
        _ => None,
    };
    let mut out = Vec::new();
    for (i, item) in items.unwrap_or_default().iter().enumerate() {
        if let Some(v) = cx.parse(&format!("/nginx/{field}/{i}"), parse(item), help) {
            out.push(v);
        }
    }
    out
}

/// `https.host-dir`: a compose bind mount at the directory of both files.
pub(super) fn check_https_host_dir(cx: &mut Ctx, https: &Https) -> bool {
    let Some(dir) = &https.host_dir else {
        return true;
    };
    let ok = cx
        .parse("/https/host-dir", types::check_host_dir(dir), None)
        .is_some();
    if https.dir().is_none() {
        cx.err(
            "/https/host-dir",
            "`https.cert-path` and `https.key-path` are in different directories",
            Some("`host-dir` is mounted at one directory: put both files in it".into()),
        );
        return false;
    }
    ok
}
