//! Secret generation: OIDC signing keys (PKCS#8 PEM), cookie keys, the vault KEK and the
//! bundled Postgres password. Input: the wanted algorithm and a cryptographic RNG (the OS
//! RNG in production, a seeded one in tests). Output: strings ready for the store.

use base64::Engine;
use rand_core::CryptoRngCore;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use crate::config::model::KeyAlgorithm;

const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER_ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Uniform random string over `alphabet` (rejection sampling, no modulo bias).
pub fn random_string(rng: &mut impl CryptoRngCore, alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut b = [0u8; 1];
        rng.fill_bytes(&mut b);
        if (b[0] as usize) < limit {
            out.push(alphabet[b[0] as usize % alphabet.len()] as char);
        }
    }
    out
}

/// A key id in Logto's own style (21 lower-case letters and digits).
pub fn key_id(rng: &mut impl CryptoRngCore) -> String {
    random_string(rng, LOWER_ALNUM, 21)
}

/// A cookie key in Logto's own style (32 letters and digits).
pub fn cookie_key(rng: &mut impl CryptoRngCore) -> String {
    random_string(rng, ALNUM, 32)
}

/// A database password: 32 letters and digits (about 190 bits), safe in every dialect.
pub fn password(rng: &mut impl CryptoRngCore) -> String {
    random_string(rng, ALNUM, 32)
}

/// SECRET_VAULT_KEK: standard base64 of exactly 32 random bytes.
pub fn vault_kek(rng: &mut impl CryptoRngCore) -> String {
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// The armour of an unencrypted PKCS#8 PEM key (what Logto itself writes).
pub const PEM_HEADER: &str = "-----BEGIN PRIVATE KEY-----";
pub const PEM_FOOTER: &str = "-----END PRIVATE KEY-----";

/// A private signing key as unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`), LF line endings.
pub fn signing_key(rng: &mut impl CryptoRngCore, alg: KeyAlgorithm) -> String {
    let pem = match alg {
        KeyAlgorithm::Rsa(bits) => rsa::RsaPrivateKey::new(rng, bits as usize)
            .expect("RSA key generation with a supported size")
            .to_pkcs8_pem(LineEnding::LF)
            .expect("RSA key encodes as PKCS#8"),
        KeyAlgorithm::EcP256 => p256::SecretKey::random(rng)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("P-256 key encodes as PKCS#8"),
        KeyAlgorithm::EcP384 => p384::SecretKey::random(rng)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("P-384 key encodes as PKCS#8"),
    };
    pem.to_string()
}

/// What a stored PEM holds, or why it is unusable. Validated before anything is written,
/// because Logto's seed stores keys unvalidated and only fails when core starts.
pub fn inspect_key(pem: &str) -> Result<KeyAlgorithm, String> {
    if !pem.starts_with(&format!("{PEM_HEADER}\n")) || !pem.trim_end().ends_with(PEM_FOOTER) {
        return Err(format!(
            "not an unencrypted PKCS#8 PEM key (`{PEM_HEADER}`)"
        ));
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        use rsa::traits::PublicKeyParts;
        let bits = (k.n().bits() as u32).div_ceil(8) * 8;
        return k
            .validate()
            .map(|_| KeyAlgorithm::Rsa(bits))
            .map_err(|e| format!("invalid RSA key: {e}"));
    }
    if p384::SecretKey::from_pkcs8_pem(pem).is_ok() {
        return Ok(KeyAlgorithm::EcP384);
    }
    if p256::SecretKey::from_pkcs8_pem(pem).is_ok() {
        return Ok(KeyAlgorithm::EcP256);
    }
    Err(
        "the PEM does not decode as an RSA, P-256 or P-384 private key (truncated or edited?)"
            .into(),
    )
}

/// Like `inspect_key`, but only the structure is checked, not the arithmetic: for RSA the
/// PKCS#8 and PKCS#1 DER and the modulus size, for EC the curve and a private scalar in
/// range (not the public key derived from it). A fraction of the cost, for commands that
/// only read the store (`check`, `diff`). A truncated or garbled PEM still fails.
pub fn inspect_key_structure(pem: &str) -> Result<KeyAlgorithm, String> {
    use rsa::pkcs8::der::{pem::PemLabel, Decode};
    use rsa::pkcs8::ObjectIdentifier;
    const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const EC_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    let (label, der) = rsa::pkcs8::der::pem::decode_vec(pem.as_bytes())
        .map_err(|e| format!("the PEM does not decode: {e}"))?;
    if label != rsa::pkcs8::PrivateKeyInfo::PEM_LABEL {
        return Err(format!(
            "not an unencrypted PKCS#8 PEM key (`{PEM_HEADER}`)"
        ));
    }
    let info =
        rsa::pkcs8::PrivateKeyInfo::from_der(&der).map_err(|e| format!("not a PKCS#8 key: {e}"))?;
    if info.algorithm.oid == EC_OID {
        let garbled = || "the PEM does not decode as a P-256 or P-384 private key".to_string();
        let curve = info.algorithm.parameters_oid().map_err(|_| garbled())?;
        let key = sec1::EcPrivateKey::from_der(info.private_key).map_err(|_| garbled())?;
        // `from_slice` refuses a zero scalar and one outside the curve's order.
        let valid = match curve {
            P384_OID => p384::SecretKey::from_slice(key.private_key).map(|_| KeyAlgorithm::EcP384),
            P256_OID => p256::SecretKey::from_slice(key.private_key).map(|_| KeyAlgorithm::EcP256),
            _ => return Err(garbled()),
        };
        return valid.map_err(|_| garbled());
    }
    if info.algorithm.oid != RSA_OID {
        return inspect_key(pem);
    }
    let key = rsa::pkcs1::RsaPrivateKey::from_der(info.private_key)
        .map_err(|e| format!("not an RSA key: {e}"))?;
    let modulus = key.modulus.as_bytes();
    let bits = (modulus.len() as u32) * 8;
    if !(2048..=8192).contains(&bits) || modulus[0] & 0x80 == 0 {
        return Err(format!(
            "the RSA modulus has an unexpected size ({bits} bits)"
        ));
    }
    Ok(KeyAlgorithm::Rsa(bits))
}

/// Check a SECRET_VAULT_KEK: standard base64 of exactly 32 bytes.
pub fn inspect_kek(kek: &str) -> Result<(), String> {
    match base64::engine::general_purpose::STANDARD.decode(kek) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        Ok(bytes) => Err(format!(
            "decodes to {} bytes; Logto needs exactly 32",
            bytes.len()
        )),
        Err(_) => Err("is not standard base64".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn ec_keys_are_pkcs8_and_inspectable() {
        let mut r = rng();
        let k = signing_key(&mut r, KeyAlgorithm::EcP384);
        assert!(k.starts_with(&format!("{PEM_HEADER}\n")));
        assert_eq!(inspect_key(&k).unwrap(), KeyAlgorithm::EcP384);
        let k = signing_key(&mut r, KeyAlgorithm::EcP256);
        assert_eq!(inspect_key(&k).unwrap(), KeyAlgorithm::EcP256);
    }

    #[test]
    fn rsa_keys_are_pkcs8_and_inspectable() {
        let k = signing_key(&mut rng(), KeyAlgorithm::Rsa(2048));
        assert!(k.starts_with(&format!("{PEM_HEADER}\n")));
        assert!(k.ends_with(&format!("{PEM_FOOTER}\n")));
        assert_eq!(inspect_key(&k).unwrap(), KeyAlgorithm::Rsa(2048));
    }

    #[test]
    fn structure_check_agrees_with_the_full_one() {
        let mut r = rng();
        for alg in [
            KeyAlgorithm::Rsa(2048),
            KeyAlgorithm::EcP256,
            KeyAlgorithm::EcP384,
        ] {
            let k = signing_key(&mut r, alg);
            assert_eq!(inspect_key_structure(&k).unwrap(), alg);
        }
        let k = signing_key(&mut r, KeyAlgorithm::Rsa(2048));
        let lines: Vec<&str> = k.lines().collect();
        let truncated = format!("{}\n{}\n{PEM_FOOTER}\n", lines[0], lines[1]);
        assert!(inspect_key_structure(&truncated).is_err());
        // EC: well-formed DER whose private scalar is out of range (all ones is above the
        // order of either curve), and a truncated PEM.
        for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::EcP384] {
            let k = signing_key(&mut r, alg);
            let (label, der) = rsa::pkcs8::der::pem::decode_vec(k.as_bytes()).unwrap();
            let scalar = match alg {
                KeyAlgorithm::EcP256 => p256::SecretKey::from_pkcs8_pem(&k)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
                _ => p384::SecretKey::from_pkcs8_pem(&k)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            };
            let at = der.windows(scalar.len()).position(|w| w == scalar).unwrap();
            let mut bad = der.clone();
            bad[at..at + scalar.len()].fill(0xff);
            let bad = rsa::pkcs8::der::pem::encode_string(label, LineEnding::LF, &bad).unwrap();
            assert!(
                inspect_key_structure(&bad).is_err(),
                "{alg:?} scalar out of range"
            );
            assert!(inspect_key(&bad).is_err());
            let lines: Vec<&str> = k.lines().collect();
            let truncated = format!("{}\n{}\n{PEM_FOOTER}\n", lines[0], lines[1]);
            assert!(
                inspect_key_structure(&truncated).is_err(),
                "{alg:?} truncated"
            );
        }
    }

    #[test]
    fn truncated_keys_are_rejected() {
        let k = signing_key(&mut rng(), KeyAlgorithm::EcP256);
        let lines: Vec<&str> = k.lines().collect();
        let truncated = format!("{}\n{}\n{PEM_FOOTER}\n", lines[0], &lines[1][..20]);
        assert!(inspect_key(&truncated).is_err());
        // The deployment guide's broken example: mismatched PKCS#1 / DSA armour.
        let mislabelled = k
            .replacen("BEGIN ", "BEGIN RSA ", 1)
            .replacen("END ", "END DSA ", 1);
        assert!(inspect_key(&mislabelled).is_err());
    }

    #[test]
    fn kek_is_32_bytes_of_base64() {
        let k = vault_kek(&mut rng());
        assert!(inspect_kek(&k).is_ok());
        assert_eq!(k.len(), 44);
        assert!(inspect_kek("c2hvcnQ=").is_err());
        assert!(inspect_kek("not base64!").is_err());
    }

    #[test]
    fn strings_use_their_alphabet() {
        let mut r = rng();
        let id = key_id(&mut r);
        assert_eq!(id.len(), 21);
        assert!(id.bytes().all(|b| LOWER_ALNUM.contains(&b)));
        let c = cookie_key(&mut r);
        assert_eq!(c.len(), 32);
        assert!(c.bytes().all(|b| ALNUM.contains(&b)));
        assert_ne!(cookie_key(&mut r), c);
    }
}
