//! TLS for `https://` endpoints: rustls with the ring provider, trusting the `webpki-roots` CAs
//! plus those of [`OtlpConfig::certificate`], and presenting a client certificate for mutual TLS
//! when [`OtlpConfig::client_key`] and [`OtlpConfig::client_certificate`] are set.
//!
//! The PEM files are read and checked here, when the exporter is built, so a wrong path or a
//! file without certificates is a build error naming the file, not a handshake failure later.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::config::{OtlpBuildError, OtlpConfig, CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY};

/// The contents of the configured PEM files, checked.
struct Material {
    /// The extra CA certificates: the file's bytes and the certificates in it.
    ca: Option<(Vec<u8>, Vec<CertificateDer<'static>>)>,
    identity: Option<Identity>,
}

/// A client certificate chain and its private key, for mutual TLS.
struct Identity {
    // tonic takes the PEM text: only gRPC reads these two.
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    chain_pem: Vec<u8>,
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    key_pem: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// The rustls configuration of traced's HTTP client for `config`'s certificates.
pub(crate) fn client_config(config: &OtlpConfig) -> Result<Arc<ClientConfig>, OtlpBuildError> {
    let material = load(config)?;
    let mut roots = webpki_roots();
    if let Some((_, certificates)) = &material.ca {
        add_roots(&mut roots, certificates, config.certificate.as_deref())?;
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| OtlpBuildError::new(format!("cannot set up TLS: {error}")))?
            .with_root_certificates(roots);
    let mut tls = match material.identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain, identity.key)
            .map_err(|error| {
                OtlpBuildError::new(format!(
                    "the client certificate and key cannot be used together ({CLIENT_CERTIFICATE}, \
                     {CLIENT_KEY}): {error}"
                ))
            })?,
        None => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

/// The rustls configuration for an `https://` endpoint when no certificate is configured: the
/// `webpki-roots` CAs, no client certificate. Built once per process.
pub(crate) fn default_client_config() -> Arc<ClientConfig> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let config = DEFAULT.get_or_init(|| {
        client_config(&OtlpConfig::default()).unwrap_or_else(|error| {
            unreachable!("the default TLS configuration reads no file: {error}")
        })
    });
    Arc::clone(config)
}

/// tonic's TLS settings for `config`'s certificates (gRPC over `https://`).
#[cfg(feature = "otlp-grpc")]
pub(crate) fn tonic_config(
    config: &OtlpConfig,
) -> Result<tonic::transport::ClientTlsConfig, OtlpBuildError> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity as TonicIdentity};

    let material = load(config)?;
    // tonic adds the certificates to the root store itself; check them the same way first.
    if let Some((_, certificates)) = &material.ca {
        add_roots(
            &mut RootCertStore::empty(),
            certificates,
            config.certificate.as_deref(),
        )?;
    }
    let mut tls = ClientTlsConfig::new().with_webpki_roots();
    if let Some((pem, _)) = material.ca {
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    if let Some(identity) = material.identity {
        tls = tls.identity(TonicIdentity::from_pem(
            identity.chain_pem,
            identity.key_pem,
        ));
    }
    Ok(tls)
}

fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn add_roots(
    roots: &mut RootCertStore,
    certificates: &[CertificateDer<'static>],
    path: Option<&Path>,
) -> Result<(), OtlpBuildError> {
    for certificate in certificates {
        roots.add(certificate.clone()).map_err(|error| {
            let path = path.map_or_else(String::new, |p| p.display().to_string());
            OtlpBuildError::new(format!(
                "a certificate in `{path}` ({CERTIFICATE}) cannot be trusted as a CA: {error}"
            ))
        })?;
    }
    Ok(())
}

fn load(config: &OtlpConfig) -> Result<Material, OtlpBuildError> {
    let ca = match &config.certificate {
        Some(path) => {
            let pem = read(path, CERTIFICATE)?;
            let certificates = certificates(&pem, path, CERTIFICATE)?;
            Some((pem, certificates))
        }
        None => None,
    };
    let identity = match (&config.client_key, &config.client_certificate) {
        (None, None) => None,
        (Some(key_path), Some(chain_path)) => {
            let chain_pem = read(chain_path, CLIENT_CERTIFICATE)?;
            let chain = certificates(&chain_pem, chain_path, CLIENT_CERTIFICATE)?;
            let key_pem = read(key_path, CLIENT_KEY)?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| {
                OtlpBuildError::new(format!(
                    "no usable private key in `{}` ({CLIENT_KEY}): {error}",
                    key_path.display()
                ))
            })?;
            Some(Identity {
                chain_pem,
                key_pem,
                chain,
                key,
            })
        }
        (Some(_), None) => return Err(half_identity(CLIENT_KEY, CLIENT_CERTIFICATE)),
        (None, Some(_)) => return Err(half_identity(CLIENT_CERTIFICATE, CLIENT_KEY)),
    };
    Ok(Material { ca, identity })
}

fn half_identity(set: &str, missing: &str) -> OtlpBuildError {
    OtlpBuildError::new(format!(
        "mutual TLS needs both a client key and a client certificate: {set} is set but {missing} \
         is not"
    ))
}

fn read(path: &Path, var: &str) -> Result<Vec<u8>, OtlpBuildError> {
    std::fs::read(path).map_err(|error| {
        OtlpBuildError::new(format!("cannot read `{}` ({var}): {error}", path.display()))
    })
}

/// The certificates of a PEM file; at least one, and no malformed block.
fn certificates(
    pem: &[u8],
    path: &Path,
    var: &str,
) -> Result<Vec<CertificateDer<'static>>, OtlpBuildError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            OtlpBuildError::new(format!(
                "`{}` ({var}) is not valid PEM: {error}",
                path.display()
            ))
        })?;
    if certificates.is_empty() {
        return Err(OtlpBuildError::new(format!(
            "`{}` ({var}) holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certificates)
}
