//! Contexts of the nginx outputs (`nginx/logto.conf`, `nginx/default-server.conf`), computed
//! from the resolved `Config`: listen lines, server names, upstream servers, TLS settings.
//! The templates only lay these out; every value goes through the `nginx` escape dialect.

use std::collections::BTreeSet;

use serde::Serialize;

use super::context::banner;
use crate::config::model::{Config, Nginx, NginxTls};
use crate::config::types::Endpoint;

pub const MAIN_UPSTREAM: &str = "logto_main";
pub const ADMIN_UPSTREAM: &str = "logto_admin";
/// Mozilla's "intermediate" profile for TLS 1.2 (TLS 1.3 suites are not configurable here),
/// without the DHE suites, which would need a dhparam file.
pub const TLS_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
pub const TLS_PROTOCOLS: &[&str] = &["TLSv1.2", "TLSv1.3"];

#[derive(Debug, Serialize)]
pub struct NginxContext {
    pub banner: String,
    pub upstreams: Vec<Upstream>,
    pub servers: Vec<Server>,
    pub redirects: Vec<Redirect>,
}

#[derive(Debug, Serialize)]
pub struct Upstream {
    pub name: &'static str,
    /// `host:port` entries.
    pub servers: Vec<String>,
    pub keepalive: u32,
}

/// One `listen` directive: address (`[ip:]port`) and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Listen {
    pub address: String,
    pub params: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Server {
    /// What this block serves, for a comment line.
    pub origin: String,
    pub listen: Vec<Listen>,
    /// `http2 on;` (nginx 1.25.1+) instead of the `http2` listen parameter.
    pub http2_on: bool,
    pub server_name: String,
    pub tls: Option<ServerTls>,
    pub hsts: bool,
    /// tls = "upstream-balancer": `set_real_ip_from` entries.
    pub real_ip_from: Vec<String>,
    /// `allow` entries followed by `deny all`; empty = no restriction.
    pub allow: Vec<String>,
    pub client_max_body_size: String,
    /// X-Forwarded-Proto from the balancer rather than `$scheme`.
    pub proto_from_balancer: bool,
    /// `http://logto_main` or `https://…` when Node serves HTTPS itself.
    pub proxy_pass: String,
    /// Node serves HTTPS: the name sent as SNI to it.
    pub upstream_tls_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ServerTls {
    pub certificate: String,
    pub certificate_key: String,
    pub protocols: Vec<&'static str>,
    pub ciphers: &'static str,
}

/// tls = "nginx": plain http answered with a redirect to the https origin.
#[derive(Debug, Serialize)]
pub struct Redirect {
    pub listen: Vec<Listen>,
    pub server_name: String,
    /// `https://host[:port]`; the template appends `$request_uri`.
    pub target: String,
}

#[derive(Debug, Serialize)]
pub struct DefaultServerContext {
    pub banner: String,
    /// Plain-http ports: unknown hosts get the connection closed (444).
    pub plain_listen: Vec<Listen>,
    /// TLS ports: unknown names are refused at the handshake (no certificate needed).
    pub tls_listen: Vec<Listen>,
    /// `http2 on;` (nginx 1.25.1+) on the TLS catch-all.
    pub http2_directive: bool,
}

fn listen_lines(n: &Nginx, port: u16, tls: bool, default_server: bool) -> Vec<Listen> {
    let mut params = Vec::new();
    if tls {
        params.push("ssl");
        if !n.http2_directive() {
            params.push("http2");
        }
    }
    if default_server {
        params.push("default_server");
    }
    let addresses: Vec<String> = if n.listen.is_empty() {
        vec![port.to_string()]
    } else {
        n.listen
            .iter()
            .map(|ip| match ip {
                std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
            })
            .collect()
    };
    addresses
        .into_iter()
        .map(|address| Listen {
            address,
            params: params.clone(),
        })
        .collect()
}

/// The port nginx serves an endpoint on, and whether it speaks TLS there.
fn endpoint_port(n: &Nginx, ep: &Endpoint) -> (u16, bool) {
    match n.tls {
        NginxTls::Nginx { .. } => (ep.effective_port(), true),
        NginxTls::UpstreamBalancer { .. } => (n.http_port, false),
        NginxTls::None => (ep.effective_port(), false),
    }
}

/// The endpoints nginx routes, with the upstream each goes to.
fn routes(config: &Config) -> Vec<(&Endpoint, &'static str, bool)> {
    let mut out = vec![(&config.logto.endpoint, MAIN_UPSTREAM, false)];
    let to_admin_port = config.nginx.as_ref().is_some_and(|n| n.admin_to_admin_port);
    if let Some(a) = config
        .admin
        .endpoint
        .as_ref()
        .filter(|_| config.admin.enabled)
    {
        let upstream = if to_admin_port {
            ADMIN_UPSTREAM
        } else {
            MAIN_UPSTREAM
        };
        out.push((a, upstream, true));
    }
    out
}

fn server(config: &Config, n: &Nginx, ep: &Endpoint, upstream: &str, admin: bool) -> Server {
    let (port, tls) = endpoint_port(n, ep);
    let scheme = if config.https.is_some() {
        "https"
    } else {
        "http"
    };
    Server {
        origin: ep.to_string(),
        listen: listen_lines(n, port, tls, false),
        http2_on: tls && n.http2_directive(),
        server_name: ep.host.as_str().to_string(),
        tls: match &n.tls {
            NginxTls::Nginx {
                certificate,
                certificate_key,
                ..
            } => Some(ServerTls {
                certificate: certificate.clone(),
                certificate_key: certificate_key.clone(),
                protocols: TLS_PROTOCOLS.to_vec(),
                ciphers: TLS_CIPHERS,
            }),
            _ => None,
        },
        hsts: n.hsts,
        real_ip_from: match &n.tls {
            NginxTls::UpstreamBalancer { real_ip_from } => real_ip_from
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            _ => Vec::new(),
        },
        allow: if admin {
            n.admin_allow
                .iter()
                .map(|c| c.as_str().to_string())
                .collect()
        } else {
            Vec::new()
        },
        client_max_body_size: n.client_max_body_size.clone(),
        proto_from_balancer: matches!(n.tls, NginxTls::UpstreamBalancer { .. }),
        proxy_pass: format!("{scheme}://{upstream}"),
        upstream_tls_name: config.https.as_ref().map(|_| ep.host.as_str().to_string()),
    }
}

fn upstream(
    name: &'static str,
    hosts: &[crate::config::types::Host],
    port: u16,
    keepalive: u32,
) -> Upstream {
    Upstream {
        name,
        servers: hosts
            .iter()
            .map(|h| format!("{}:{port}", h.as_str()))
            .collect(),
        keepalive,
    }
}

/// `None` when nginx is not enabled.
pub fn logto_conf(config: &Config) -> Option<NginxContext> {
    let n = config.nginx.as_ref()?;
    let routes = routes(config);
    let mut upstreams = vec![upstream(
        MAIN_UPSTREAM,
        &n.upstream_hosts,
        config.logto.port,
        n.keepalive,
    )];
    if routes.iter().any(|(_, u, _)| *u == ADMIN_UPSTREAM) {
        upstreams.push(upstream(
            ADMIN_UPSTREAM,
            &n.admin_upstream_hosts,
            config.admin.port,
            n.keepalive,
        ));
    }
    let servers = routes
        .iter()
        .map(|(ep, u, admin)| server(config, n, ep, u, *admin))
        .collect();
    let mut redirects: Vec<Redirect> = Vec::new();
    if matches!(n.tls, NginxTls::Nginx { .. }) {
        // One per host name: with both endpoints on one host (different ports), the
        // redirect can only lead to the first, the main endpoint.
        for (ep, _, _) in &routes {
            if redirects.iter().all(|r| r.server_name != ep.host.as_str()) {
                redirects.push(Redirect {
                    listen: listen_lines(n, n.http_port, false, false),
                    server_name: ep.host.as_str().to_string(),
                    target: ep.to_string(),
                });
            }
        }
    }
    Some(NginxContext {
        banner: banner(config),
        upstreams,
        servers,
        redirects,
    })
}

/// Every port logto.conf listens on, with the flag `default_server`.
pub fn default_server(config: &Config) -> Option<DefaultServerContext> {
    let n = config.nginx.as_ref()?;
    let mut ports = BTreeSet::new();
    for (ep, _, _) in routes(config) {
        ports.insert(endpoint_port(n, ep));
    }
    if matches!(n.tls, NginxTls::Nginx { .. }) {
        ports.insert((n.http_port, false));
    }
    let lines = |want_tls: bool| -> Vec<Listen> {
        ports
            .iter()
            .filter(|(_, tls)| *tls == want_tls)
            .flat_map(|(port, tls)| listen_lines(n, *port, *tls, true))
            .collect()
    };
    let tls_listen = lines(true);
    Some(DefaultServerContext {
        banner: banner(config),
        plain_listen: lines(false),
        http2_directive: !tls_listen.is_empty() && n.http2_directive(),
        tls_listen,
    })
}

/// Ports the nginx container publishes (`port:port`), for compose.
pub fn published_ports(config: &Config) -> Vec<u16> {
    let Some(n) = &config.nginx else {
        return Vec::new();
    };
    let mut ports = BTreeSet::new();
    for (ep, _, _) in routes(config) {
        ports.insert(endpoint_port(n, ep).0);
    }
    if matches!(n.tls, NginxTls::Nginx { .. }) {
        ports.insert(n.http_port);
    }
    ports.into_iter().collect()
}
