//! Sessions per second with the keys in a PKCS#11 token (SoftHSM2) against
//! the same keys in software: the key work of opening one session — the
//! card's keys diversified from the master, the session keys derived and
//! both cryptograms computed — for SCP03 with KDF3 (all inside the token),
//! SCP02 with undiversified keys (inside) and SCP02 with EMV CPS 1.1 (card
//! keys computed by the token and passed through, as SoftHSM needs).
//!
//! Run: cargo bench -p hsm --bench sessions

#[path = "../tests/support/softhsm.rs"]
mod softhsm;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hsm::{ClearKeys, Component, Hsm};
use scp::keys::{Diversification, KeyContext, KeyProvider, KeyType, SoftwareKeys, StaticKeys};
use scp::Protocol;
use softhsm::XorShift;

fn providers(
    hsm: &Hsm,
    kind: KeyType,
    div: Diversification,
) -> (Box<dyn KeyProvider>, Box<dyn KeyProvider>) {
    let label = softhsm::label("bench");
    let key: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(0x3B) ^ 0x5C).collect();
    hsm.import_key(&label, 1, Component::Single, kind, &key)
        .unwrap();
    let soft = SoftwareKeys::new(StaticKeys::from_bytes(kind, &key, &key, &key, 1).unwrap())
        .diversified(div);
    (Box::new(hsm.keys(&label, 1, div).unwrap()), Box::new(soft))
}

fn bench(c: &mut Criterion) {
    let Some(s) = softhsm::softhsm() else {
        eprintln!("SoftHSM2 missing: nothing to measure");
        return;
    };
    let hsm = Hsm::open_with(
        &s.module,
        softhsm::TOKEN,
        &hsm::Pin::new(softhsm::PIN),
        ClearKeys::AllowWhereTokenLacks,
    )
    .unwrap();
    let mut group = c.benchmark_group("session keys");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("scp03 kdf3", KeyType::Aes, Diversification::Kdf3),
        ("scp02 none", KeyType::Des3, Diversification::None),
        ("scp02 emv", KeyType::Des3, Diversification::EmvCps11),
    ];
    for (name, kind, div) in cases {
        let (in_hsm, soft) = providers(&hsm, kind, div);
        for (who, p) in [("hsm", &in_hsm), ("software", &soft)] {
            let mut rng = XorShift(0xBE4C);
            group.bench_function(format!("{name} {who}"), |b| {
                b.iter(|| {
                    let kdd = rng.bytes::<10>();
                    let host = rng.bytes::<8>();
                    if kind == KeyType::Aes {
                        let ctx = KeyContext {
                            protocol: Protocol::Scp03 { i: 0 },
                            key_version: 1,
                            kdd,
                        };
                        p.scp03_session(&ctx, &host, &rng.bytes()).unwrap().card
                    } else {
                        let ctx = KeyContext {
                            protocol: Protocol::Scp02 { i: 0x55 },
                            key_version: 1,
                            kdd,
                        };
                        p.scp02_session(&ctx, 0x55, rng.bytes(), &host, &rng.bytes())
                            .unwrap()
                            .card
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
