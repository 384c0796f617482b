//! SCP11a, 11b and 11c end to end: `jct emu --scp11-ca` as a separate
//! process, provisioned from a CA key the test makes, and the `jct` CLI
//! installing, listing and deleting over each variant with `--scp 11x
//! --ca --oce-key --oce-cert`; a wrong CA, an expired and a mis-signed OCE
//! certificate refused with a clear error. (Replayed authentications and
//! tampered commands are refused in scp/tests/scp11.rs and
//! emulator/tests/scp11.rs, where the wire bytes can be altered.)

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::SecretKey;
use scp::scp11::cert::USAGE_KEY_AGREEMENT;
use scp::scp11::{files, CertificateTemplate, Date};

mod support;

use support::emu_process::EmuProcess;

fn hello() -> String {
    support::shared()
        .join("converter-reference/oracle-3.0.5/hello.cap")
        .display()
        .to_string()
}

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

struct Files {
    _dir: tempfile::TempDir,
    ca_private: PathBuf,
    ca_public: PathBuf,
    other_ca: PathBuf,
    oce_key: PathBuf,
    oce_cert: PathBuf,
    expired_cert: PathBuf,
    mis_signed_cert: PathBuf,
}

fn oce_cert(signer: &SigningKey, expiration: Date) -> String {
    hex::encode_upper(
        CertificateTemplate {
            serial: vec![0x0C, 0x01],
            issuer: b"test CA".to_vec(),
            subject: b"test OCE".to_vec(),
            key_usage: USAGE_KEY_AGREEMENT,
            effective: Date::new(2020, 1, 1),
            expiration,
            public_key: VerifyingKey::from(key(0x0C).public_key()),
        }
        .sign(signer),
    )
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let ca = key(0xCA);
    let ca_signing = SigningKey::from(ca.clone());
    let far = Date::new(2090, 1, 1).unwrap();
    std::fs::write(p("ca.pem"), files::private_key_pem(&ca).unwrap()).unwrap();
    std::fs::write(
        p("ca.pub.pem"),
        files::public_key_pem(&VerifyingKey::from(ca.public_key())).unwrap(),
    )
    .unwrap();
    std::fs::write(
        p("other.pub.pem"),
        files::public_key_pem(&VerifyingKey::from(key(0x0B).public_key())).unwrap(),
    )
    .unwrap();
    std::fs::write(p("oce.pem"), files::private_key_pem(&key(0x0C)).unwrap()).unwrap();
    std::fs::write(p("oce.cert"), oce_cert(&ca_signing, far)).unwrap();
    std::fs::write(
        p("expired.cert"),
        oce_cert(&ca_signing, Date::new(2024, 6, 30).unwrap()),
    )
    .unwrap();
    std::fs::write(p("rogue.cert"), oce_cert(&SigningKey::from(key(0x0B)), far)).unwrap();
    Files {
        ca_private: p("ca.pem"),
        ca_public: p("ca.pub.pem"),
        other_ca: p("other.pub.pem"),
        oce_key: p("oce.pem"),
        oce_cert: p("oce.cert"),
        expired_cert: p("expired.cert"),
        mis_signed_cert: p("rogue.cert"),
        _dir: dir,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn install_list_delete_over_each_variant() {
    let f = files();
    let emu = EmuProcess::start(&[OsStr::new("--scp11-ca"), f.ca_private.as_os_str()]);
    let cap = hello();
    for variant in ["11a", "11b", "11c"] {
        let scp11 = [
            "--scp",
            variant,
            "--ca",
            s(&f.ca_public),
            "--oce-key",
            s(&f.oce_key),
            "--oce-cert",
            s(&f.oce_cert),
        ];
        let mut args = vec!["install", cap.as_str(), "--trace"];
        args.extend_from_slice(&scp11);
        let out = emu.jct(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{variant}: {stderr}");
        assert!(
            stderr.contains("installed F0000000010101"),
            "{variant}: {stderr}"
        );
        // No INITIALIZE UPDATE: GET DATA BF21, then the authentication.
        assert!(!stderr.contains(">> 8050"), "{variant}: {stderr}");
        assert!(stderr.contains("80CABF21"), "{variant}: {stderr}");
        let mut list = vec!["list"];
        list.extend_from_slice(&scp11);
        let out = emu.jct(&list).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("F0000000010101"));
        let mut delete = vec!["delete", "F00000000101", "--related"];
        delete.extend_from_slice(&scp11);
        emu.jct(&delete).assert().success();
        let out = emu.jct(&list).output().unwrap();
        assert!(!String::from_utf8_lossy(&out.stdout).contains("F00000000101"));
    }
}

#[test]
fn wrong_ca_expired_and_mis_signed_certificates_are_refused() {
    let f = files();
    let emu = EmuProcess::start(&[OsStr::new("--scp11-ca"), f.ca_private.as_os_str()]);
    let run = |variant: &str, ca: &Path, cert: &Path| -> String {
        let out = emu
            .jct(&[
                "list",
                "--scp",
                variant,
                "--ca",
                s(ca),
                "--oce-key",
                s(&f.oce_key),
                "--oce-cert",
                s(cert),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{variant} {ca:?} {cert:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run("11b", &f.other_ca, &f.oce_cert);
    assert!(
        err.contains("signature does not verify under the CA key"),
        "{err}"
    );
    let err = run("11a", &f.ca_public, &f.expired_cert);
    assert!(err.contains("refused the OCE certificate"), "{err}");
    let err = run("11c", &f.ca_public, &f.mis_signed_cert);
    assert!(err.contains("refused the OCE certificate"), "{err}");
    // 11a without the OCE's key and certificate is refused before any I/O.
    let out = emu
        .jct(&["list", "--scp", "11a", "--ca", s(&f.ca_public)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oce-key FILE and --oce-cert FILE"));
}
