//! Secret generation: OIDC signing keys (PKCS#8 PEM), cookie keys, the vault KEK and the
//! bundled Postgres password. Input: the wanted algorithm and a cryptographic RNG (the OS
//! RNG in production, a seeded one in tests). Output: strings ready for the store.

use base64::Engine;
use rand_core::CryptoRngCore;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};

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
/// The armour lines of an unencrypted PKCS#8 PEM key, from the label the pkcs8 crate
/// defines (`der::pem::PemLabel`), so that the armour is spelled in one place only.
pub fn pem_armour() -> (String, String) {
    use rsa::pkcs8::der::pem::PemLabel;
    let label = rsa::pkcs8::PrivateKeyInfo::PEM_LABEL;
    (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    )
}

/// A private signing key as unencrypted PKCS#8 PEM, LF line endings.
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
/// because Logto's seed stores keys unvalidated and only fails when core starts: the
/// structure (see `inspect_key_structure`) and the arithmetic. RSA: n = p·q, d·e ≡ 1
/// modulo p−1 and q−1, and the stored CRT values (d mod p−1, d mod q−1, q⁻¹ mod p) agree
/// with them, since OpenSSL and Node sign with those. EC: the embedded public key is the
/// one the private scalar gives.
pub fn inspect_key(pem: &str) -> Result<KeyAlgorithm, String> {
    inspect(pem, true)
}

/// Like `inspect_key`, but only the structure is checked, not the arithmetic: for RSA the
/// PKCS#8 and PKCS#1 DER and the modulus size, for EC the curve and a private scalar in
/// range (not the public key derived from it). A fraction of the cost, for commands that
/// only read the store (`check`, `diff`). A truncated or garbled PEM still fails.
pub fn inspect_key_structure(pem: &str) -> Result<KeyAlgorithm, String> {
    inspect(pem, false)
}

fn inspect(pem: &str, arithmetic: bool) -> Result<KeyAlgorithm, String> {
    use rsa::pkcs8::der::{pem::PemLabel, Decode};
    use rsa::pkcs8::ObjectIdentifier;
    const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const EC_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    let (header, footer) = pem_armour();
    let not_pkcs8 = || format!("not an unencrypted PKCS#8 PEM key (`{header}`)");
    if !pem.starts_with(&format!("{header}\n")) || !pem.trim_end().ends_with(&footer) {
        return Err(not_pkcs8());
    }
    let (label, der) = rsa::pkcs8::der::pem::decode_vec(pem.as_bytes())
        .map_err(|e| format!("the PEM does not decode: {e}"))?;
    if label != rsa::pkcs8::PrivateKeyInfo::PEM_LABEL {
        return Err(not_pkcs8());
    }
    let info =
        rsa::pkcs8::PrivateKeyInfo::from_der(&der).map_err(|e| format!("not a PKCS#8 key: {e}"))?;
    if info.algorithm.oid == EC_OID {
        let garbled = || "the PEM does not decode as a P-256 or P-384 private key".to_string();
        let curve = info.algorithm.parameters_oid().map_err(|_| garbled())?;
        let key = sec1::EcPrivateKey::from_der(info.private_key).map_err(|_| garbled())?;
        // The curve named inside the key, if any, must be the one named outside it.
        if key
            .parameters
            .is_some_and(|p| p.named_curve() != Some(curve))
        {
            return Err(garbled());
        }
        // `from_slice` refuses a zero scalar and one outside the curve's order;
        // `from_sec1_der` also derives the public key and compares the embedded one.
        let valid = match (curve, arithmetic) {
            (P384_OID, false) => p384::SecretKey::from_slice(key.private_key).is_ok(),
            (P384_OID, true) => p384::SecretKey::from_sec1_der(info.private_key).is_ok(),
            (P256_OID, false) => p256::SecretKey::from_slice(key.private_key).is_ok(),
            (P256_OID, true) => p256::SecretKey::from_sec1_der(info.private_key).is_ok(),
            _ => false,
        };
        return match (valid, curve) {
            (true, P384_OID) => Ok(KeyAlgorithm::EcP384),
            (true, _) => Ok(KeyAlgorithm::EcP256),
            (false, _) => Err(garbled()),
        };
    }
    if info.algorithm.oid == RSA_OID && info.algorithm.parameters.is_some_and(|p| !p.is_null()) {
        return Err("RSA algorithm parameters must be NULL (RFC 8017)".into());
    }
    if info.algorithm.oid != RSA_OID {
        return Err(
            "the PEM does not decode as an RSA, P-256 or P-384 private key (truncated or edited?)"
                .into(),
        );
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
    if arithmetic {
        rsa_arithmetic(&key).map_err(|e| format!("invalid RSA key: {e}"))?;
    }
    Ok(KeyAlgorithm::Rsa(bits))
}

/// The checks of `rsa::RsaPrivateKey::validate`, on the key as stored (CRT values
/// included), without recomputing the CRT values first.
fn rsa_arithmetic(key: &rsa::pkcs1::RsaPrivateKey) -> Result<(), &'static str> {
    use rsa::BigUint;
    let int = |u: rsa::pkcs1::UintRef| BigUint::from_bytes_be(u.as_bytes());
    if key.other_prime_infos.is_some() {
        return Err("more than two primes");
    }
    let (n, e, d) = (
        int(key.modulus),
        int(key.public_exponent),
        int(key.private_exponent),
    );
    let (p, q) = (int(key.prime1), int(key.prime2));
    let one = BigUint::from(1u8);
    let max_e = BigUint::from((1u64 << 33) - 1);
    if e < BigUint::from(3u8) || e > max_e || &e % 2u8 == BigUint::from(0u8) || e >= n {
        return Err("public exponent out of range");
    }
    // Every component below the modulus (or its prime) before anything is multiplied:
    // a hand-edited key cannot make the checks slow.
    if p <= one || q <= one || p >= n || q >= n || &p * &q != n {
        return Err("the primes do not multiply to the modulus");
    }
    let (p1, q1) = (&p - &one, &q - &one);
    if d >= n || int(key.exponent1) >= p1 || int(key.exponent2) >= q1 || int(key.coefficient) >= p {
        return Err("a private component is out of range");
    }
    let de = &d * &e;
    if &de % &p1 != one || &de % &q1 != one {
        return Err("the private exponent does not invert the public one");
    }
    if int(key.exponent1) != &d % &p1
        || int(key.exponent2) != &d % &q1
        || (int(key.coefficient) * &q) % &p != one
    {
        return Err("the stored CRT values do not match the key");
    }
    Ok(())
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
    use rsa::pkcs8::DecodePrivateKey;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn ec_keys_are_pkcs8_and_inspectable() {
        let mut r = rng();
        let k = signing_key(&mut r, KeyAlgorithm::EcP384);
        let (header, _) = pem_armour();
        assert!(k.starts_with(&format!("{header}\n")));
        assert_eq!(inspect_key(&k).unwrap(), KeyAlgorithm::EcP384);
        let k = signing_key(&mut r, KeyAlgorithm::EcP256);
        assert_eq!(inspect_key(&k).unwrap(), KeyAlgorithm::EcP256);
    }

    #[test]
    fn rsa_keys_are_pkcs8_and_inspectable() {
        let k = signing_key(&mut rng(), KeyAlgorithm::Rsa(2048));
        let (header, footer) = pem_armour();
        assert!(k.starts_with(&format!("{header}\n")));
        assert!(k.ends_with(&format!("{footer}\n")));
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
        let truncated = format!("{}\n{}\n{}\n", lines[0], lines[1], pem_armour().1);
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
            let truncated = format!("{}\n{}\n{}\n", lines[0], lines[1], pem_armour().1);
            assert!(
                inspect_key_structure(&truncated).is_err(),
                "{alg:?} truncated"
            );
        }
    }

    /// A generated RSA key with one PKCS#1 component replaced (by `edit`), re-armoured.
    fn rsa_with(pem: &str, edit: impl Fn(&mut Vec<Vec<u8>>)) -> String {
        use rsa::pkcs1::der::{Decode, Encode};
        let (label, der) = rsa::pkcs8::der::pem::decode_vec(pem.as_bytes()).unwrap();
        let info = rsa::pkcs8::PrivateKeyInfo::from_der(&der).unwrap();
        let k = rsa::pkcs1::RsaPrivateKey::from_der(info.private_key).unwrap();
        let mut parts: Vec<Vec<u8>> = [
            k.modulus,
            k.public_exponent,
            k.private_exponent,
            k.prime1,
            k.prime2,
            k.exponent1,
            k.exponent2,
            k.coefficient,
        ]
        .iter()
        .map(|u| u.as_bytes().to_vec())
        .collect();
        edit(&mut parts);
        let u = |i: usize| rsa::pkcs1::UintRef::new(&parts[i]).unwrap();
        let edited = rsa::pkcs1::RsaPrivateKey {
            modulus: u(0),
            public_exponent: u(1),
            private_exponent: u(2),
            prime1: u(3),
            prime2: u(4),
            exponent1: u(5),
            exponent2: u(6),
            coefficient: u(7),
            other_prime_infos: None,
        }
        .to_der()
        .unwrap();
        let der = rsa::pkcs8::PrivateKeyInfo::new(info.algorithm, &edited)
            .to_der()
            .unwrap();
        rsa::pkcs8::der::pem::encode_string(label, LineEnding::LF, &der).unwrap()
    }

    #[test]
    fn rsa_arithmetic_is_checked_beyond_the_structure() {
        let k = signing_key(&mut rng(), KeyAlgorithm::Rsa(2048));
        assert_eq!(
            rsa_with(&k, |_| {}),
            k,
            "re-encoding an unedited key is lossless"
        );
        // One flipped bit in each component: still well-formed DER of the right size,
        // so the structure check passes, but the key no longer works.
        let names = [
            "n",
            "e",
            "d",
            "p",
            "q",
            "d mod p-1",
            "d mod q-1",
            "q^-1 mod p",
        ];
        for (i, name) in names.iter().enumerate() {
            let bad = rsa_with(&k, |parts| {
                let last = parts[i].len() - 1;
                parts[i][last] ^= 0x02;
            });
            assert_eq!(
                inspect_key_structure(&bad),
                Ok(KeyAlgorithm::Rsa(2048)),
                "{name}"
            );
            let err = inspect_key(&bad).expect_err(name);
            assert!(err.starts_with("invalid RSA key"), "{name}: {err}");
            // The rsa crate agrees wherever it looks (it recomputes the CRT values).
            if i < 5 {
                let parsed = rsa::RsaPrivateKey::from_pkcs8_pem(&bad);
                assert!(
                    parsed.is_err() || parsed.unwrap().validate().is_err(),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn oversized_rsa_components_are_refused_before_any_arithmetic() {
        let k = signing_key(&mut rng(), KeyAlgorithm::Rsa(2048));
        for i in [2, 3, 7] {
            let bad = rsa_with(&k, |parts| parts[i] = vec![0x7f; 4096]);
            let err = inspect_key(&bad).expect_err("oversized");
            assert!(err.starts_with("invalid RSA key"), "{err}");
        }
    }

    #[test]
    fn ec_public_key_must_match_the_scalar() {
        for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::EcP384] {
            let k = signing_key(&mut rng(), alg);
            let (label, mut der) = rsa::pkcs8::der::pem::decode_vec(k.as_bytes()).unwrap();
            // The DER ends with the embedded public point: change its last byte.
            *der.last_mut().unwrap() ^= 0x01;
            let bad = rsa::pkcs8::der::pem::encode_string(label, LineEnding::LF, &der).unwrap();
            assert_eq!(inspect_key_structure(&bad), Ok(alg));
            assert!(inspect_key(&bad).is_err(), "{alg:?}");
        }
    }

    #[test]
    fn truncated_keys_are_rejected() {
        let k = signing_key(&mut rng(), KeyAlgorithm::EcP256);
        let lines: Vec<&str> = k.lines().collect();
        let truncated = format!("{}\n{}\n{}\n", lines[0], &lines[1][..20], pem_armour().1);
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
