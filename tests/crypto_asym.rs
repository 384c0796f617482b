//! Known answers and cross-checks of jct emu's asymmetric crypto through
//! an applet: tests/crypto/asymtest (javac, `jct build`, installed through
//! the card manager) runs KeyBuilder's RSA and EC keys, Signature (RSA
//! PKCS#1 v1.5 and PSS, ECDSA), Cipher (RSA PKCS#1, OAEP, no padding),
//! KeyPair and KeyAgreement on what each command sends. Every answer is
//! checked on the host with independent crates: `rsa` (PKCS#1 v1.5
//! signatures are deterministic, so those are exact known answers),
//! p256/p384/k256 for ECDSA and ECDH; host-made signatures and
//! ciphertexts go the other way. Domain parameters are typed here from
//! SEC 2 v2 and RFC 5639, apart from the emulator's own table.
//!
//! Needs javac: skipped when missing, failed when missing under CI.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::scripts::card_with;
use emulator::Card;
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384};

const AID: &str = "F000000001C201";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).unwrap()
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// The applet built once: work directory and CAP.
fn built() -> Option<&'static (tempfile::TempDir, PathBuf, PathBuf)> {
    static CAP: OnceLock<Option<(tempfile::TempDir, PathBuf, PathBuf)>> = OnceLock::new();
    CAP.get_or_init(|| {
        if !support::require::javac() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let sources = support::java::java_files(std::path::Path::new("tests/crypto/asymtest/src"));
        let classes = support::java::compile(dir.path(), "asymtest", &sources, None);
        let cap = support::java::build(
            dir.path(),
            &classes,
            "com.jct.asymtest",
            "F000000001C2",
            Some(&format!("{AID}=com.jct.asymtest.AsymTestApplet")),
            &[],
        );
        Some((dir, cap, classes))
    })
    .as_ref()
}

fn card() -> Option<Card> {
    let (_, cap, _) = built()?;
    let mut card = card_with(&[(cap, Some(AID))], "3.0.5");
    let r = card.transmit(&h(&format!("00A4040007{AID}")));
    assert_eq!(r, h("9000"), "{:?}", card.last_note());
    Some(card)
}

/// A card to talk to: jct emu in process, or jCardSim behind the runner.
trait Tx {
    fn tx(&mut self, apdu: &[u8]) -> Vec<u8>;
    fn note(&self) -> Option<String>;
}

impl Tx for Card {
    fn tx(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.transmit(apdu)
    }
    fn note(&self) -> Option<String> {
        self.last_note().map(str::to_string)
    }
}

impl Tx for support::jcardsim::Runner {
    fn tx(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.transmit(apdu)
    }
    fn note(&self) -> Option<String> {
        Some("jCardSim".into())
    }
}

/// `80 ins p1 p2` with `data` (staged first when longer than one short
/// APDU takes); data and SW out.
fn cmd(card: &mut impl Tx, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut c = vec![0x80, ins, p1, p2];
    if data.len() > 255 {
        for (i, chunk) in data.chunks(200).enumerate() {
            let mut s = vec![0x80, 0x0F, u8::from(i == 0), 0, chunk.len() as u8];
            s.extend_from_slice(chunk);
            assert_eq!(card.tx(&s), h("9000"));
        }
    } else if !data.is_empty() {
        c.push(data.len() as u8);
        c.extend_from_slice(data);
    }
    c.push(0);
    card.tx(&c)
}

fn ok(card: &mut impl Tx, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let r = cmd(card, ins, p1, p2, data);
    assert_eq!(
        &r[r.len() - 2..],
        &[0x90, 0],
        "80 {ins:02X} {p1:02X} {p2:02X}: {} ({:?})",
        hx(&r),
        card.note()
    );
    r[..r.len() - 2].to_vec()
}

fn status(card: &mut impl Tx, ins: u8, p1: u8, p2: u8, data: &[u8]) -> u16 {
    let r = cmd(card, ins, p1, p2, data);
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

// KeyBuilder types, API algorithms, component numbers of the applet.
const RSA_PUBLIC: u8 = 4;
const RSA_PRIVATE: u8 = 5;
const RSA_CRT: u8 = 6;
const EC_PUBLIC: u8 = 11;
const EC_PRIVATE: u8 = 12;
const EC_PRIVATE_DESELECT: u8 = 31;
const SIG_RSA_SHA1: u8 = 10;
const SIG_RSA_SHA256: u8 = 40;
const SIG_RSA_SHA384: u8 = 41;
const SIG_PSS_SHA256: u8 = 44;
const SIG_ECDSA_SHA1: u8 = 17;
const SIG_ECDSA_SHA256: u8 = 33;
const SIG_ECDSA_SHA384: u8 = 34;
const CIPHER_PKCS1: u8 = 10;
const CIPHER_NOPAD: u8 = 12;
const CIPHER_OAEP: u8 = 15;
const ENCRYPT: u8 = 0x20;
const DECRYPT: u8 = 0x10;
const NO_SUCH_ALGORITHM: u16 = 0x9C03;
const ILLEGAL_VALUE: u16 = 0x9C01;
const UNINITIALIZED_KEY: u16 = 0x9C02;
const ILLEGAL_USE: u16 = 0x9C05;

/// A reproducible source for the host's keys: SHA-256 in counter mode
/// over a seed (a test fixture, not a generator for real keys).
struct TestRng(u64, [u8; 32], usize);

impl TestRng {
    fn new(seed: u64) -> TestRng {
        TestRng(seed, [0; 32], 32)
    }
}

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, out: &mut [u8]) {
        for b in out {
            if self.2 == 32 {
                self.1 = Sha256::digest(self.0.to_be_bytes()).into();
                self.0 += 1;
                self.2 = 0;
            }
            *b = self.1[self.2];
            self.2 += 1;
        }
    }
    fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(out);
        Ok(())
    }
}

impl CryptoRng for TestRng {}

fn bits16(b: u16) -> [u8; 2] {
    b.to_be_bytes()
}

fn fixed(v: &BigUint, len: usize) -> Vec<u8> {
    let b = v.to_bytes_be();
    let mut out = vec![0; len - b.len()];
    out.extend(b);
    out
}

/// A host RSA key of `bits` (fixed per seed).
fn host_rsa(bits: usize, seed: u64) -> RsaPrivateKey {
    let mut k = RsaPrivateKey::new(&mut TestRng::new(seed), bits).unwrap();
    k.precompute().unwrap();
    k
}

/// The host key on the card: public in slot 0, CRT private in 1,
/// modulus-and-exponent private in 2.
fn put_rsa(card: &mut impl Tx, k: &RsaPrivateKey) {
    let bits = k.size() as u16 * 8;
    let n = k.size();
    ok(card, 0x10, RSA_PUBLIC, 0, &bits16(bits));
    ok(card, 0x11, 0, 0, &k.n().to_bytes_be());
    ok(card, 0x11, 0, 1, &k.e().to_bytes_be());
    ok(card, 0x10, RSA_CRT, 1, &bits16(bits));
    let p = &k.primes()[0];
    let q = &k.primes()[1];
    let parts = [
        p.clone(),
        q.clone(),
        k.dp().unwrap().clone(),
        k.dq().unwrap().clone(),
        k.crt_coefficient().unwrap(),
    ];
    for (i, v) in parts.iter().enumerate() {
        ok(card, 0x11, 1, 2 + i as u8, &fixed(v, n / 2));
    }
    ok(card, 0x10, RSA_PRIVATE, 2, &bits16(bits));
    ok(card, 0x11, 2, 0, &k.n().to_bytes_be());
    ok(card, 0x11, 2, 1, &k.d().to_bytes_be());
}

fn verify_body(sig: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut b = vec![sig.len() as u8];
    b.extend_from_slice(sig);
    b.extend_from_slice(msg);
    b
}

#[test]
fn rsa_pkcs1_signatures_are_the_hosts_known_answers_with_both_private_key_forms() {
    let Some(mut card) = card() else { return };
    let c = &mut card;
    for (bits, seed) in [(1024usize, 1u64), (2048, 2)] {
        let k = host_rsa(bits, seed);
        put_rsa(c, &k);
        let msg = b"jct emu: RSA PKCS#1 v1.5 known answer";
        let h1 = Sha1::digest(msg);
        let h256 = Sha256::digest(msg);
        let h384 = Sha384::digest(msg);
        let want1 = k.sign(Pkcs1v15Sign::new::<Sha1>(), &h1).unwrap();
        let want256 = k.sign(Pkcs1v15Sign::new::<Sha256>(), &h256).unwrap();
        let want384 = k.sign(Pkcs1v15Sign::new::<Sha384>(), &h384).unwrap();
        for slot in [1u8, 2] {
            assert_eq!(
                hx(&ok(c, 0x20, SIG_RSA_SHA1, slot, msg)),
                hx(&want1),
                "{bits} SHA-1 slot {slot}"
            );
            assert_eq!(
                hx(&ok(c, 0x20, SIG_RSA_SHA256, slot, msg)),
                hx(&want256),
                "{bits} SHA-256 slot {slot}"
            );
            assert_eq!(
                hx(&ok(c, 0x20, SIG_RSA_SHA384, slot, msg)),
                hx(&want384),
                "{bits} SHA-384"
            );
            // The precomputed form of the same hash.
            assert_eq!(hx(&ok(c, 0x22, SIG_RSA_SHA256, slot, &h256)), hx(&want256));
        }
        // Host signatures verify on the card, a changed one does not.
        if bits <= 1024 {
            assert_eq!(
                ok(c, 0x21, SIG_RSA_SHA256, 0, &verify_body(&want256, msg)),
                [1]
            );
            let mut bad = want256.clone();
            bad[7] ^= 1;
            assert_eq!(ok(c, 0x21, SIG_RSA_SHA256, 0, &verify_body(&bad, msg)), [0]);
            assert_eq!(
                ok(c, 0x21, SIG_RSA_SHA256, 0, &verify_body(&want256, b"other")),
                [0]
            );
            assert_eq!(
                ok(c, 0x23, SIG_RSA_SHA256, 0, &verify_body(&want256, &h256)),
                [1]
            );
        }
        // getLength: the modulus.
        assert_eq!(
            ok(c, 0x25, SIG_RSA_SHA256, 1, &[1]),
            bits16(bits as u16 / 8)
        );
    }
}

#[test]
fn rsa_pss_signatures_verify_on_the_host_and_host_ones_on_the_card() {
    let Some(mut card) = card() else { return };
    let c = &mut card;
    let k = host_rsa(1024, 3);
    put_rsa(c, &k);
    let pk = RsaPublicKey::from(&k);
    let msg = b"probabilistic signature scheme";
    let h256 = Sha256::digest(msg);
    let a = ok(c, 0x20, SIG_PSS_SHA256, 1, msg);
    let b = ok(c, 0x20, SIG_PSS_SHA256, 1, msg);
    assert_ne!(a, b, "PSS salts are random");
    for sig in [&a, &b] {
        pk.verify(rsa::Pss::new::<Sha256>(), &h256, sig).unwrap();
    }
    let host = k
        .sign_with_rng(&mut TestRng::new(9), rsa::Pss::new::<Sha256>(), &h256)
        .unwrap();
    assert_eq!(
        ok(c, 0x21, SIG_PSS_SHA256, 0, &verify_body(&host, msg)),
        [1]
    );
    assert_eq!(
        ok(c, 0x21, SIG_PSS_SHA256, 0, &verify_body(&host, b"x")),
        [0]
    );
    // The modulus-and-exponent form signs too (its public exponent is
    // 65537: the primes are recovered, see emulator::natives::crypto::rsa).
    let nd = ok(c, 0x20, SIG_PSS_SHA256, 2, msg);
    pk.verify(rsa::Pss::new::<Sha256>(), &h256, &nd).unwrap();
    // One of another public exponent cannot: ILLEGAL_VALUE.
    let e3 = RsaPrivateKey::new_with_exp(&mut TestRng::new(11), 1024, &3u8.into()).unwrap();
    ok(c, 0x10, RSA_PRIVATE, 2, &bits16(1024));
    ok(c, 0x11, 2, 0, &e3.n().to_bytes_be());
    ok(c, 0x11, 2, 1, &e3.d().to_bytes_be());
    assert_eq!(status(c, 0x20, SIG_PSS_SHA256, 2, msg), ILLEGAL_VALUE);
}

#[test]
fn rsa_ciphers_round_trip_with_the_host_in_both_directions() {
    let Some(mut card) = card() else { return };
    let c = &mut card;
    let k = host_rsa(1024, 4);
    put_rsa(c, &k);
    let pk = RsaPublicKey::from(&k);
    let mut rng = TestRng::new(5);
    let msg = b"a secret for the card";
    // Host encrypts, the card decrypts with each private key form.
    let ct = pk.encrypt(&mut rng, Pkcs1v15Encrypt, msg).unwrap();
    for slot in [1u8, 2] {
        assert_eq!(
            ok(c, 0x30, CIPHER_PKCS1, DECRYPT | slot, &ct),
            msg,
            "slot {slot}"
        );
    }
    // The card encrypts with the public key, the host decrypts.
    let ct = ok(c, 0x30, CIPHER_PKCS1, ENCRYPT, msg);
    assert_eq!(ct.len(), 128);
    assert_eq!(k.decrypt(Pkcs1v15Encrypt, &ct).unwrap(), msg);
    // OAEP (SHA-1) both ways.
    let ct = pk.encrypt(&mut rng, Oaep::new::<Sha1>(), msg).unwrap();
    assert_eq!(ok(c, 0x30, CIPHER_OAEP, DECRYPT | 1, &ct), msg);
    assert_eq!(ok(c, 0x30, CIPHER_OAEP, DECRYPT | 2, &ct), msg);
    let ct = ok(c, 0x30, CIPHER_OAEP, ENCRYPT, msg);
    assert_eq!(k.decrypt(Oaep::new::<Sha1>(), &ct).unwrap(), msg);
    // No padding: m^e mod n, and back with either private key.
    let mut block = vec![0u8; 128];
    block[1..].fill(0x5A);
    let want = fixed(&BigUint::from_bytes_be(&block).modpow(k.e(), k.n()), 128);
    assert_eq!(hx(&ok(c, 0x30, CIPHER_NOPAD, ENCRYPT, &block)), hx(&want));
    assert_eq!(ok(c, 0x30, CIPHER_NOPAD, DECRYPT | 2, &want), block);
    assert_eq!(ok(c, 0x30, CIPHER_NOPAD, DECRYPT | 1, &want), block);
    // Private-key encryption (block type 1) decrypts with the public key.
    let ct = ok(c, 0x30, CIPHER_PKCS1, ENCRYPT | 1, msg);
    assert_eq!(ok(c, 0x30, CIPHER_PKCS1, DECRYPT, &ct), msg);
    // Errors: a block of the wrong length, bad padding, update, OAEP
    // decryption with a public key.
    assert_eq!(
        status(c, 0x30, CIPHER_NOPAD, ENCRYPT, &block[1..]),
        ILLEGAL_USE
    );
    assert_eq!(
        status(c, 0x30, CIPHER_PKCS1, DECRYPT | 1, &want),
        ILLEGAL_USE
    );
    assert_eq!(status(c, 0x31, CIPHER_PKCS1, ENCRYPT, msg), ILLEGAL_USE);
    assert_eq!(status(c, 0x30, CIPHER_OAEP, DECRYPT, &ct), ILLEGAL_VALUE);
    let long = vec![1u8; 118];
    assert_eq!(status(c, 0x30, CIPHER_PKCS1, ENCRYPT, &long), ILLEGAL_USE);
}

/// SEC 2 v2 / RFC 5639 domain parameters: p, a, b, G (uncompressed), r.
struct Domain {
    bits: u16,
    p: &'static str,
    a: &'static str,
    b: &'static str,
    g: &'static str,
    r: &'static str,
}

const P256: Domain = Domain {
    bits: 256,
    p: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
    a: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
    b: "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
    g: "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296\
        4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    r: "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
};

const P384: Domain = Domain {
    bits: 384,
    p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
    a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
    b: "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
    g: "04AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7\
        3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
    r: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
};

const P521: Domain = Domain {
    bits: 521,
    p: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    a: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
    b: "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00",
    g: "0400C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66\
        011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
    r: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
};

const K256: Domain = Domain {
    bits: 256,
    p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
    a: "00",
    b: "07",
    g: "0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798\
        483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8",
    r: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
};

const BP256R1: Domain = Domain {
    bits: 256,
    p: "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
    a: "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
    b: "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
    g: "048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262\
        547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
    r: "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
};

/// An EC key of `ty` in `slot` with the domain parameters set.
fn ec_key(card: &mut impl Tx, ty: u8, slot: u8, d: &Domain) {
    ok(card, 0x10, ty, slot, &bits16(d.bits));
    for (comp, v) in [(10u8, d.p), (11, d.a), (12, d.b), (13, d.g), (14, d.r)] {
        ok(card, 0x11, slot, comp, &h(v));
    }
    ok(card, 0x11, slot, 15, &[0, 1]);
}

/// DER: SEQUENCE of two INTEGERs, as cards answer.
fn assert_der(sig: &[u8]) {
    assert_eq!(sig[0], 0x30, "{}", hx(sig));
    let (len, at) = if sig[1] == 0x81 {
        (usize::from(sig[2]), 3)
    } else {
        (usize::from(sig[1]), 2)
    };
    assert_eq!(sig.len(), at + len, "{}", hx(sig));
    assert_eq!(sig[at], 0x02);
}

#[test]
fn ecdsa_p256_card_signatures_verify_on_the_host_and_host_ones_on_the_card() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    let Some(mut card) = card() else { return };
    let c = &mut card;
    let sk = SigningKey::from_slice(&Sha256::digest(b"p256 test key")).unwrap();
    let vk = VerifyingKey::from(&sk);
    let w = vk.to_sec1_point(false);
    ec_key(c, EC_PUBLIC, 0, &P256);
    ok(c, 0x11, 0, 16, w.as_bytes());
    ec_key(c, EC_PRIVATE, 1, &P256);
    ok(c, 0x11, 1, 16, &sk.to_bytes());
    assert_eq!(ok(c, 0x13, 1, 0, &[]), [1, 0, EC_PRIVATE, 1]);
    assert_eq!(ok(c, 0x12, 0, 16, &[]), w.as_bytes());
    let msg = b"ECDSA over P-256 on jct emu";
    for _ in 0..4 {
        let der = ok(c, 0x20, SIG_ECDSA_SHA256, 1, msg);
        assert_der(&der);
        let sig = Signature::from_der(&der).unwrap();
        vk.verify(msg, &sig).unwrap();
        assert!(vk.verify(b"another message", &sig).is_err());
        // SHA-1, prehashed on the host.
        let der = ok(c, 0x20, SIG_ECDSA_SHA1, 1, msg);
        let sig = Signature::from_der(&der).unwrap();
        vk.verify_prehash(&Sha1::digest(msg), &sig).unwrap();
    }
    // signPreComputedHash.
    let hash = Sha256::digest(msg);
    let der = ok(c, 0x22, SIG_ECDSA_SHA256, 1, &hash);
    vk.verify(msg, &Signature::from_der(&der).unwrap()).unwrap();
    assert_eq!(
        status(c, 0x22, SIG_ECDSA_SHA256, 1, &hash[1..]),
        ILLEGAL_VALUE
    );
    // Host signatures verify on the card.
    let host: Signature = sk.sign(msg);
    let der = host.to_der();
    assert_eq!(
        ok(
            c,
            0x21,
            SIG_ECDSA_SHA256,
            0,
            &verify_body(der.as_bytes(), msg)
        ),
        [1]
    );
    assert_eq!(
        ok(
            c,
            0x21,
            SIG_ECDSA_SHA256,
            0,
            &verify_body(der.as_bytes(), b"no")
        ),
        [0]
    );
    assert_eq!(
        ok(
            c,
            0x23,
            SIG_ECDSA_SHA256,
            0,
            &verify_body(der.as_bytes(), &hash)
        ),
        [1]
    );
    // getLength: the longest DER signature of the curve.
    assert_eq!(ok(c, 0x25, SIG_ECDSA_SHA256, 1, &[1]), [0, 72]);
}

#[test]
fn ecdsa_on_p384_p521_secp256k1_and_brainpool_verifies_across_host_and_card() {
    use p256::ecdsa::signature::Verifier;
    let Some(mut card) = card() else { return };
    let c = &mut card;
    let msg = b"more curves";
    // P-384 with SHA-384.
    {
        use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
        let sk = SigningKey::from_slice(&Sha384::digest(b"p384 key")).unwrap();
        let vk = VerifyingKey::from(&sk);
        ec_key(c, EC_PUBLIC, 0, &P384);
        ok(c, 0x11, 0, 16, vk.to_sec1_point(false).as_bytes());
        ec_key(c, EC_PRIVATE, 1, &P384);
        ok(c, 0x11, 1, 16, &sk.to_bytes());
        let der = ok(c, 0x20, SIG_ECDSA_SHA384, 1, msg);
        assert_der(&der);
        vk.verify(msg, &Signature::from_der(&der).unwrap()).unwrap();
        let host: Signature = p384::ecdsa::signature::Signer::sign(&sk, msg);
        assert_eq!(
            ok(
                c,
                0x21,
                SIG_ECDSA_SHA384,
                0,
                &verify_body(host.to_der().as_bytes(), msg)
            ),
            [1]
        );
    }
    // secp256k1 with SHA-256 (the card does not normalise s: the host
    // check normalises before verifying).
    {
        use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
        let sk = SigningKey::from_slice(&Sha256::digest(b"k256 key")).unwrap();
        let vk = VerifyingKey::from(&sk);
        ec_key(c, EC_PUBLIC, 0, &K256);
        ok(c, 0x11, 0, 16, vk.to_sec1_point(false).as_bytes());
        ec_key(c, EC_PRIVATE, 1, &K256);
        ok(c, 0x11, 1, 16, &sk.to_bytes());
        for _ in 0..3 {
            let der = ok(c, 0x20, SIG_ECDSA_SHA256, 1, msg);
            let sig = Signature::from_der(&der).unwrap().normalize_s();
            vk.verify(msg, &sig).unwrap();
        }
        let host: Signature = k256::ecdsa::signature::Signer::sign(&sk, msg);
        assert_eq!(
            ok(
                c,
                0x21,
                SIG_ECDSA_SHA256,
                0,
                &verify_body(host.to_der().as_bytes(), msg)
            ),
            [1]
        );
    }
    // P-521 with SHA-512 and SHA-1 (a hash shorter than the order).
    {
        use p521::ecdsa::signature::hazmat::PrehashVerifier;
        use p521::ecdsa::{Signature, SigningKey, VerifyingKey};
        let mut s = vec![0u8; 2];
        s.extend_from_slice(&sha2::Sha512::digest(b"p521 key"));
        let sk = SigningKey::from_slice(&s).unwrap();
        let vk = VerifyingKey::from(&sk);
        ec_key(c, EC_PUBLIC, 0, &P521);
        ok(c, 0x11, 0, 16, vk.to_sec1_point(false).as_bytes());
        ec_key(c, EC_PRIVATE, 1, &P521);
        ok(c, 0x11, 1, 16, &s);
        let der = ok(c, 0x20, 38, 1, msg);
        assert_der(&der);
        let sig = Signature::from_der(&der).unwrap();
        vk.verify_prehash(&sha2::Sha512::digest(msg), &sig).unwrap();
        let der = ok(c, 0x20, SIG_ECDSA_SHA1, 1, msg);
        let sig = Signature::from_der(&der).unwrap();
        vk.verify_prehash(&Sha1::digest(msg), &sig).unwrap();
        assert_eq!(ok(c, 0x21, SIG_ECDSA_SHA1, 0, &verify_body(&der, msg)), [1]);
        assert_eq!(ok(c, 0x25, 38, 1, &[1]), [0, 141]);
    }
    // brainpoolP256r1: the public point from the host's crate, card
    // signatures verify on the card against it.
    {
        use bp256::elliptic_curve::sec1::ToSec1Point;
        let s = Sha256::digest(b"brainpool key");
        let sk =
            bp256::elliptic_curve::SecretKey::<bp256::BrainpoolP256r1>::from_slice(&s).unwrap();
        let w = sk.public_key().to_sec1_point(false);
        ec_key(c, EC_PUBLIC, 0, &BP256R1);
        ok(c, 0x11, 0, 16, w.as_bytes());
        ec_key(c, EC_PRIVATE, 1, &BP256R1);
        ok(c, 0x11, 1, 16, &s);
        let der = ok(c, 0x20, SIG_ECDSA_SHA256, 1, msg);
        assert_der(&der);
        assert_eq!(
            ok(c, 0x21, SIG_ECDSA_SHA256, 0, &verify_body(&der, msg)),
            [1]
        );
        assert_eq!(
            ok(c, 0x21, SIG_ECDSA_SHA256, 0, &verify_body(&der, b"x")),
            [0]
        );
    }
}

#[test]
fn ecdh_secrets_match_the_hosts() {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let Some(mut card) = card() else { return };
    let c = &mut card;
    let s = Sha256::digest(b"card ecdh key");
    ec_key(c, EC_PRIVATE, 1, &P256);
    ok(c, 0x11, 1, 16, &s);
    let card_secret = p256::SecretKey::from_slice(&s).unwrap();
    let host = p256::SecretKey::from_slice(&Sha256::digest(b"host ecdh key")).unwrap();
    let host_w = host.public_key().to_sec1_point(false);
    let shared = p256::ecdh::diffie_hellman(
        host.to_nonzero_scalar(),
        card_secret.public_key().as_affine(),
    );
    let x = shared.raw_secret_bytes().to_vec();
    assert_eq!(hx(&ok(c, 0x50, 3, 1, host_w.as_bytes())), hx(&x), "PLAIN");
    assert_eq!(
        hx(&ok(c, 0x50, 1, 1, host_w.as_bytes())),
        hx(&Sha1::digest(&x)),
        "DH"
    );
    let xy = ok(c, 0x50, 6, 1, host_w.as_bytes());
    assert_eq!(xy.len(), 65);
    assert_eq!(xy[0], 4);
    assert_eq!(hx(&xy[1..33]), hx(&x));
    // The y the point has: the shared point decodes as a public key.
    let point = p256::PublicKey::from_sec1_bytes(&xy).unwrap();
    assert_eq!(point.to_sec1_point(false).as_bytes(), &xy[..]);
    // A point off the curve.
    let mut bad = host_w.as_bytes().to_vec();
    bad[64] ^= 1;
    assert_eq!(status(c, 0x50, 3, 1, &bad), ILLEGAL_VALUE);
}

#[test]
fn key_pairs_generate_keys_the_host_verifies() {
    use p256::ecdsa::signature::Verifier;
    let Some(mut card) = card() else { return };
    let c = &mut card;
    // EC: without domain parameters genKeyPair fails as on cards.
    ok(c, 0x40, 5, 0, &bits16(256));
    assert_eq!(status(c, 0x41, 0, 0, &[]), ILLEGAL_VALUE);
    for (comp, v) in [
        (10u8, P256.p),
        (11, P256.a),
        (12, P256.b),
        (13, P256.g),
        (14, P256.r),
    ] {
        ok(c, 0x11, 0, comp, &h(v));
    }
    ok(c, 0x41, 0, 0, &[]);
    let w = ok(c, 0x12, 0, 16, &[]);
    assert_eq!(ok(c, 0x13, 1, 0, &[]), [1, 0, EC_PRIVATE, 1]);
    // The private key got the domain parameters.
    assert_eq!(ok(c, 0x12, 1, 14, &[]), h(P256.r));
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&w).unwrap();
    let der = ok(c, 0x20, SIG_ECDSA_SHA256, 1, b"generated");
    vk.verify(
        b"generated",
        &p256::ecdsa::Signature::from_der(&der).unwrap(),
    )
    .unwrap();
    // A second generation gives another key.
    ok(c, 0x41, 0, 0, &[]);
    assert_ne!(ok(c, 0x12, 0, 16, &[]), w);
    // RSA CRT, 1024 bits: export the public key, sign, verify on the host.
    ok(c, 0x40, 2, 0, &bits16(1024));
    assert_eq!(status(c, 0x20, SIG_RSA_SHA256, 1, b"m"), UNINITIALIZED_KEY);
    ok(c, 0x41, 0, 0, &[]);
    let n = ok(c, 0x12, 0, 0, &[]);
    let e = ok(c, 0x12, 0, 1, &[]);
    assert_eq!(n.len(), 128);
    assert_eq!(e, [1, 0, 1]);
    let pk = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap();
    let sig = ok(c, 0x20, SIG_RSA_SHA256, 1, b"generated");
    pk.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(b"generated"),
        &sig,
    )
    .unwrap();
    // An even public exponent: no key has one.
    ok(c, 0x40, 1, 0, &bits16(512));
    ok(c, 0x11, 0, 1, &[1, 0]);
    assert_eq!(status(c, 0x41, 0, 0, &[]), ILLEGAL_VALUE);
    // RSA with a modulus-and-exponent private key, and KeyPair of given keys.
    ok(c, 0x40, 1, 0, &bits16(512));
    ok(c, 0x41, 0, 0, &[]);
    ok(c, 0x42, 0, 0, &[]);
    ok(c, 0x41, 0, 0, &[]);
    let n = ok(c, 0x12, 0, 0, &[]);
    let pk = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from(65537u32)).unwrap();
    let sig = ok(c, 0x20, SIG_RSA_SHA1, 1, b"x");
    pk.verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(b"x"), &sig)
        .unwrap();
}

#[test]
fn keys_answer_the_api_reasons_and_transient_keys_clear() {
    let Some(mut card) = card() else { return };
    let c = &mut card;
    // Sizes and types KeyBuilder does not build.
    assert_eq!(
        status(c, 0x10, RSA_PUBLIC, 0, &bits16(1000)),
        NO_SUCH_ALGORITHM
    );
    assert_eq!(
        status(c, 0x10, RSA_PUBLIC, 0, &bits16(8192)),
        NO_SUCH_ALGORITHM
    );
    assert_eq!(
        status(c, 0x10, EC_PUBLIC, 0, &bits16(255)),
        NO_SUCH_ALGORITHM
    );
    assert_eq!(status(c, 0x24, 4, 3, &[9]), NO_SUCH_ALGORITHM);
    // getInstance by parts names the same algorithms.
    assert_eq!(ok(c, 0x24, 4, 3, &[7]), [SIG_RSA_SHA256]);
    assert_eq!(ok(c, 0x24, 4, 3, &[8]), [SIG_PSS_SHA256]);
    assert_eq!(ok(c, 0x24, 4, 5, &[0]), [SIG_ECDSA_SHA256]);
    // An uninitialised key; a modulus of the wrong length.
    ok(c, 0x10, RSA_PUBLIC, 0, &bits16(1024));
    assert_eq!(ok(c, 0x13, 0, 0, &[]), [4, 0, RSA_PUBLIC, 0]);
    assert_eq!(status(c, 0x12, 0, 0, &[]), UNINITIALIZED_KEY);
    assert_eq!(
        status(c, 0x21, SIG_RSA_SHA1, 0, &[1, 0, 0]),
        UNINITIALIZED_KEY
    );
    assert_eq!(status(c, 0x11, 0, 0, &[0xC5; 127]), ILLEGAL_VALUE);
    assert_eq!(status(c, 0x11, 0, 0, &[0xC5; 129]), ILLEGAL_VALUE);
    ok(c, 0x11, 0, 0, &[0xC5; 128]);
    ok(c, 0x11, 0, 1, &[1, 0, 1]);
    assert_eq!(ok(c, 0x13, 0, 0, &[]), [4, 0, RSA_PUBLIC, 1]);
    // A public key cannot sign; an EC key does no RSA.
    assert_eq!(status(c, 0x20, SIG_RSA_SHA1, 0, b"m"), ILLEGAL_VALUE);
    ok(c, 0x14, 0, 0, &[]);
    assert_eq!(ok(c, 0x13, 0, 0, &[]), [4, 0, RSA_PUBLIC, 0]);
    // Unknown domain parameters: ILLEGAL_VALUE when used.
    let mut odd = P256;
    odd.b = "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604C";
    ec_key(c, EC_PRIVATE, 1, &odd);
    ok(c, 0x11, 1, 16, &[7; 32]);
    assert_eq!(status(c, 0x20, SIG_ECDSA_SHA256, 1, b"m"), ILLEGAL_VALUE);
    assert_eq!(status(c, 0x20, SIG_RSA_SHA256, 1, b"m"), ILLEGAL_VALUE);
    // A point of the wrong form.
    assert_eq!(status(c, 0x11, 1, 13, &h(P256.g)[..33]), ILLEGAL_VALUE);
    // A CLEAR_ON_DESELECT private key is cleared by a reselection.
    ec_key(c, EC_PRIVATE_DESELECT, 2, &P256);
    ok(c, 0x11, 2, 16, &[7; 32]);
    assert_eq!(ok(c, 0x13, 2, 0, &[]), [1, 0, EC_PRIVATE_DESELECT, 1]);
    assert_eq!(c.transmit(&h(&format!("00A4040007{AID}"))), h("9000"));
    assert_eq!(ok(c, 0x13, 2, 0, &[]), [1, 0, EC_PRIVATE_DESELECT, 0]);
    assert_eq!(status(c, 0x12, 2, 16, &[]), UNINITIALIZED_KEY);
}

/// A card whose random source is seeded: its key generation and ECDSA
/// nonces are the same on every run.
fn seeded_card(seed: u64) -> Option<Card> {
    let (_, cap, _) = built()?;
    let profile = emulator::CardProfile {
        api: "3.0.5".into(),
        ..emulator::CardProfile::default()
    };
    let rng = cardtest::SeededRandom::new(seed);
    let mut card = Card::with_rng(profile, common::aes_keys(1), Box::new(rng)).unwrap();
    card.power_on();
    common::scripts::install_all(&mut card, &[(cap, Some(AID))], &[]);
    assert_eq!(card.transmit(&h(&format!("00A4040007{AID}"))), h("9000"));
    Some(card)
}

#[test]
fn key_generation_and_nonces_draw_from_the_cards_injected_random_source() {
    let run = |seed: u64| -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let mut card = seeded_card(seed)?;
        let c = &mut card;
        ok(c, 0x40, 5, 0, &bits16(256));
        for (comp, v) in [
            (10u8, P256.p),
            (11, P256.a),
            (12, P256.b),
            (13, P256.g),
            (14, P256.r),
        ] {
            ok(c, 0x11, 0, comp, &h(v));
        }
        ok(c, 0x41, 0, 0, &[]);
        let w = ok(c, 0x12, 0, 16, &[]);
        let sig = ok(c, 0x20, SIG_ECDSA_SHA256, 1, b"seeded");
        ok(c, 0x40, 2, 0, &bits16(512));
        ok(c, 0x41, 0, 0, &[]);
        Some((w, sig, ok(c, 0x12, 0, 0, &[])))
    };
    let Some(a) = run(7) else { return };
    let b = run(7).unwrap();
    let other = run(8).unwrap();
    assert_eq!(a, b, "the same seed, the same keys and signature");
    assert_ne!(a.0, other.0);
    assert_ne!(a.1, other.1);
    assert_ne!(a.2, other.2);
}

#[test]
fn signatures_verify_alike_in_jcardsim_and_jct_emu_and_across_them() {
    use p256::ecdsa::signature::Signer;
    if !support::jcardsim::available() {
        return;
    }
    let Some(mut emu) = card() else { return };
    let (dir, _, classes) = built().unwrap();
    let mut sim = support::jcardsim::Runner::start(
        &[classes.as_path()],
        &[(AID, "com.jct.asymtest.AsymTestApplet", "")],
        &dir.path().join("jcardsim-asym.log"),
    );
    assert_eq!(sim.tx(&h(&format!("00A4040007{AID}"))), h("9000"));
    let rsa_key = host_rsa(1024, 11);
    let ec_sk = p256::ecdsa::SigningKey::from_slice(&Sha256::digest(b"differential")).unwrap();
    for_both(&mut emu, &rsa_key, &ec_sk);
    for_both(&mut sim, &rsa_key, &ec_sk);
    let msg = b"the same answers";
    let rsa_sig = rsa_key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg))
        .unwrap();
    let ec_sig: p256::ecdsa::Signature = ec_sk.sign(msg);
    let ec_der = ec_sig.to_der().as_bytes().to_vec();
    let mut bad_rsa = rsa_sig.clone();
    bad_rsa[100] ^= 0x40;
    let mut bad_ec = ec_der.clone();
    let last = bad_ec.len() - 1;
    bad_ec[last] ^= 1;
    // Host signatures, good and bad, answer the same on both.
    let cases: [(u8, u8, Vec<u8>, &[u8]); 6] = [
        (SIG_RSA_SHA256, 0, rsa_sig.clone(), msg),
        (SIG_RSA_SHA256, 0, bad_rsa, msg),
        (SIG_RSA_SHA256, 0, rsa_sig.clone(), b"changed"),
        (SIG_ECDSA_SHA256, 3, ec_der.clone(), msg),
        (SIG_ECDSA_SHA256, 3, bad_ec, msg),
        (SIG_ECDSA_SHA256, 3, ec_der.clone(), b"changed"),
    ];
    for (alg, slot, sig, m) in &cases {
        let body = verify_body(sig, m);
        let a = cmd(&mut emu, 0x21, *alg, *slot, &body);
        let b = cmd(&mut sim, 0x21, *alg, *slot, &body);
        assert_eq!(hx(&a), hx(&b), "alg {alg}: jct emu vs jCardSim");
    }
    // RSA PKCS#1 signatures are deterministic: the same bytes from both.
    assert_eq!(
        hx(&ok(&mut emu, 0x20, SIG_RSA_SHA256, 1, msg)),
        hx(&ok(&mut sim, 0x20, SIG_RSA_SHA256, 1, msg))
    );
    // ECDSA signatures of one verify on the other.
    let from_sim = ok(&mut sim, 0x20, SIG_ECDSA_SHA256, 2, msg);
    let from_emu = ok(&mut emu, 0x20, SIG_ECDSA_SHA256, 2, msg);
    assert_eq!(
        ok(
            &mut emu,
            0x21,
            SIG_ECDSA_SHA256,
            3,
            &verify_body(&from_sim, msg)
        ),
        [1]
    );
    assert_eq!(
        ok(
            &mut sim,
            0x21,
            SIG_ECDSA_SHA256,
            3,
            &verify_body(&from_emu, msg)
        ),
        [1]
    );
}

/// The differential's keys on one card: the RSA public key in slot 0 and
/// its CRT private key in slot 1, an EC P-256 private key in slot 2 (in
/// place of put_rsa's modulus-and-exponent key), its public key in slot 3.
fn for_both(t: &mut impl Tx, rsa_key: &RsaPrivateKey, ec_sk: &p256::ecdsa::SigningKey) {
    let ec_w = p256::ecdsa::VerifyingKey::from(ec_sk).to_sec1_point(false);
    put_rsa(t, rsa_key);
    ec_key(t, EC_PUBLIC, 3, &P256);
    ok(t, 0x11, 3, 16, ec_w.as_bytes());
    ec_key(t, EC_PRIVATE, 2, &P256);
    ok(t, 0x11, 2, 16, &ec_sk.to_bytes());
}
