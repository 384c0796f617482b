//! The named curves jct emu computes on, recognised by the domain
//! parameters an applet sets (Java Card has no curve names: a key carries
//! p, a, b, G and r). Parameters from SEC 2 v2 (secp256r1, secp384r1,
//! secp521r1, secp256k1) and RFC 5639 (brainpoolP256r1); the unit tests
//! check each against its crate's generator and order and that G is on
//! the curve y² = x³ + ax + b over F(p).

/// A curve a crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    K256,
    Bp256r1,
}

/// Domain parameters, big-endian hex.
pub struct Domain {
    pub curve: Curve,
    pub bits: u16,
    pub p: &'static str,
    pub a: &'static str,
    pub b: &'static str,
    pub gx: &'static str,
    pub gy: &'static str,
    pub r: &'static str,
}

pub const CURVES: [Domain; 5] = [
    Domain {
        curve: Curve::P256,
        bits: 256,
        p: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
        a: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
        b: "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
        gx: "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
        gy: "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
        r: "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    },
    Domain {
        curve: Curve::P384,
        bits: 384,
        p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
        a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
        b: "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
        gx: "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7",
        gy: "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
        r: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    },
    Domain {
        curve: Curve::P521,
        bits: 521,
        p: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        a: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
        b: "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00",
        gx: "00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66",
        gy: "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
        r: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    },
    Domain {
        curve: Curve::K256,
        bits: 256,
        p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
        a: "00",
        b: "07",
        gx: "79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798",
        gy: "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8",
        r: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
    },
    Domain {
        curve: Curve::Bp256r1,
        bits: 256,
        p: "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        a: "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        b: "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        gx: "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
        gy: "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
        r: "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
    },
];

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_default()
}

/// Big-endian integers compared as numbers (leading zeros aside).
fn same_int(a: &[u8], b: &[u8]) -> bool {
    let a = &a[a.iter().take_while(|x| **x == 0).count()..];
    let b = &b[b.iter().take_while(|x| **x == 0).count()..];
    a == b
}

/// The curve of a key's domain parameters (`g` uncompressed), if one of
/// those implemented.
pub fn identify(bits: u16, p: &[u8], a: &[u8], b: &[u8], g: &[u8], r: &[u8]) -> Option<Curve> {
    let f = usize::from(bits).div_ceil(8);
    if g.len() != 1 + 2 * f || g[0] != 4 {
        return None;
    }
    CURVES
        .iter()
        .find(|d| {
            d.bits == bits
                && same_int(p, &unhex(d.p))
                && same_int(a, &unhex(d.a))
                && same_int(b, &unhex(d.b))
                && same_int(&g[1..1 + f], &unhex(d.gx))
                && same_int(&g[1 + f..], &unhex(d.gy))
                && same_int(r, &unhex(d.r))
        })
        .map(|d| d.curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint_dig::BigUint;

    #[test]
    fn each_generator_is_on_its_curve_and_matches_the_crate() {
        for d in &CURVES {
            let n = |s: &str| BigUint::from_bytes_be(&unhex(s));
            let (p, a, b, x, y) = (n(d.p), n(d.a), n(d.b), n(d.gx), n(d.gy));
            let lhs = (&y * &y) % &p;
            let rhs = (&x * &x * &x + &a * &x + &b) % &p;
            assert_eq!(lhs, rhs, "{:?}: G is not on the curve", d.curve);
            let (g, r) = super::super::ec::crate_generator_and_order(d.curve);
            let f = usize::from(d.bits).div_ceil(8);
            assert_eq!(g.len(), 1 + 2 * f);
            assert!(same_int(&g[1..1 + f], &unhex(d.gx)), "{:?} Gx", d.curve);
            assert!(same_int(&g[1 + f..], &unhex(d.gy)), "{:?} Gy", d.curve);
            assert!(same_int(&r, &unhex(d.r)), "{:?} r", d.curve);
            let mut gb = unhex(d.gx);
            gb.insert(0, 4);
            gb.extend(unhex(d.gy));
            let id = identify(
                d.bits,
                &unhex(d.p),
                &unhex(d.a),
                &unhex(d.b),
                &g,
                &unhex(d.r),
            );
            assert_eq!(id, Some(d.curve));
        }
        assert_eq!(identify(256, &[1], &[0], &[7], &[4; 65], &[1]), None);
    }
}
