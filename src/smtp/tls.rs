//! The rustls client configuration of a run: the system's trusted CAs, or only those of
//! `--ca-file` (as curl's `--cacert` does: a private CA is trusted instead of, not besides,
//! the public ones). Certificates are always verified; there is no switch to turn that off.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read the CA file {}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.with_context(|| format!("cannot read the CA file {}", path.display()))?;
                roots.add(cert).with_context(|| {
                    format!("not a usable CA certificate in {}", path.display())
                })?;
            }
            if roots.is_empty() {
                bail!("no certificate in the CA file {}", path.display());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // One odd certificate in the system store is no reason to trust none.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                bail!(
                    "no trusted CA certificates found on this system (install ca-certificates, \
                     or name your server's CA with --ca-file)"
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
