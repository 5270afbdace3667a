//! Webhook delivery signatures: `X-PlanetScale-Signature` is the hex HMAC-SHA256 of the raw
//! request body, keyed with the webhook's secret. Verify over the exact bytes received.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying a delivery's signature.
pub const HEADER: &str = "X-PlanetScale-Signature";

fn mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// The signature PlanetScale puts on `body` for a webhook with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `signature` (hex, either case) is `body`'s signature under `secret`; the digests
/// are compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(bytes) = decode_hex(signature.trim()) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&bytes).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_and_its_exact_body() {
        let body = br#"{"event":"branch.ready"}"#;
        let sig = sign("whsec_a", body);
        assert!(verify("whsec_a", body, &sig));
        assert!(verify("whsec_a", body, &sig.to_uppercase()));
        assert!(!verify("whsec_b", body, &sig));
        assert!(!verify("whsec_a", br#"{"event": "branch.ready"}"#, &sig));
        assert!(!verify("whsec_a", body, &sig[..62]));
        assert!(!verify("whsec_a", body, ""));
        assert!(!verify("whsec_a", body, &"zz".repeat(32)));
    }

    #[test]
    fn known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
