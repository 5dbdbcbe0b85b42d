//! A throwaway PKI made at test time: a CA, a server certificate for 127.0.0.1 and localhost,
//! and a client certificate, all signed by the CA, written as PEM files for the OTEL_* variables.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// PEM text of each certificate and key, and the files they were written to.
pub struct Pki {
    pub server_chain: String,
    pub server_key: String,
    pub ca_file: PathBuf,
    pub client_chain_file: PathBuf,
    pub client_key_file: PathBuf,
    pub ca_der: rustls::pki_types::CertificateDer<'static>,
}

impl Pki {
    pub fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "traced test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let server = server_params.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "traced test client");
        let client = client_params.signed_by(&client_key, &issuer).unwrap();

        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "pki-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Self {
            server_chain: server.pem(),
            server_key: server_key.serialize_pem(),
            ca_file: write("ca.pem", &ca.pem()),
            client_chain_file: write("client.pem", &client.pem()),
            client_key_file: write("client-key.pem", &client_key.serialize_pem()),
            ca_der: ca.der().clone(),
        }
    }
}
