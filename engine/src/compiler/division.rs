//! Division by constants: the multipliers that replace a 64-bit `div` by one widening
//! multiplication and a few shifts (Granlund and Montgomery, "Division by invariant
//! integers using multiplication", 1994, Theorem 4.2 and Figure 4.1).
//!
//! 32-bit divisions use a simpler scheme of their own (`u32_magic_division` in the
//! x86-64 macro-assembler): a 64-bit multiplier covers every 32-bit dividend.

/// How to compute `n / d` for every 64-bit `n` from `t`, the high half of the 128-bit
/// product `multiplier * n`:
/// - without `add_back`: `t >> shift`;
/// - with `add_back` (the multiplier would need 65 bits): `(t + ((n - t) >> 1)) >> shift`,
///   which cannot overflow since `t <= n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DivisionMagic {
    pub multiplier: u64,
    pub shift: u32,
    pub add_back: bool,
}

/// The magic of an unsigned 64-bit division by `divisor` (at least 2).
pub fn u64_division_magic(divisor: u64) -> DivisionMagic {
    magic_for_width(divisor, 64)
}

/// The magic for `bits`-bit dividends (64 in the compiler; fewer in the tests, which
/// can then try every dividend). `multiplier` has at most `bits` bits.
fn magic_for_width(divisor: u64, bits: u32) -> DivisionMagic {
    debug_assert!(divisor >= 2 && (bits == 64 || divisor < 1 << bits));
    let d = u128::from(divisor);
    // l = ceil(log2 d): 2^(l-1) < d <= 2^l.
    let l = 64 - (divisor - 1).leading_zeros();
    let shift = l - 1;
    // m = ceil(2^(bits+shift) / d) is exact for every dividend when its error
    // m*d - 2^(bits+shift) is at most 2^shift (Theorem 4.2); it then has `bits` bits.
    let power = 1u128 << (bits + shift);
    let m = power.div_ceil(d);
    if m < 1u128 << bits && m * d - power <= 1u128 << shift {
        return DivisionMagic { multiplier: m as u64, shift, add_back: false };
    }
    // Otherwise the multiplier 2^bits + m' (Figure 4.1), whose leading 1 the add-back
    // supplies; m' < 2^bits because 2^l - d < d.
    let m = ((1u128 << bits) * ((1u128 << l) - d)) / d + 1;
    DivisionMagic { multiplier: m as u64, shift, add_back: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the emitted code computes, for `bits`-bit dividends.
    fn quotient(magic: DivisionMagic, n: u64, bits: u32) -> u64 {
        let t = ((u128::from(magic.multiplier) * u128::from(n)) >> bits) as u64;
        if magic.add_back {
            (t + ((n - t) >> 1)) >> magic.shift
        } else {
            t >> magic.shift
        }
    }

    /// Every divisor against every dividend, at widths small enough to try them all:
    /// both forms occur, and the proofs do not depend on the width.
    #[test]
    fn exact_for_every_small_dividend_and_divisor() {
        let (mut short, mut long) = (0, 0);
        for bits in [3u32, 8, 11] {
            for d in 2..1u64 << bits {
                let magic = magic_for_width(d, bits);
                assert!(magic.multiplier < 1 << bits, "{bits}-bit multiplier for {d}: {magic:?}");
                if magic.add_back {
                    long += 1;
                } else {
                    short += 1;
                }
                for n in 0..1u64 << bits {
                    assert_eq!(quotient(magic, n, bits), n / d, "{n} / {d} at {bits} bits: {magic:?}");
                }
            }
        }
        assert!(short > 0 && long > 0, "{short} short and {long} long forms");
    }

    /// 64-bit divisors of every size, at the edges of the dividend range, around
    /// multiples of the divisor and at pseudo-random values.
    #[test]
    fn exact_for_64_bit_dividends() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut divisors =
            vec![2u64, 3, 5, 7, 10, 100, 1_000_003, 1 << 32, (1 << 32) + 1, u64::MAX, u64::MAX - 1];
        divisors.extend([1u64 << 63, (1 << 63) + 1, (1 << 63) - 1, 0xAAAA_AAAA_AAAA_AAAB]);
        divisors.extend((0..300).map(|i| (next() >> (i % 63)).max(2)));
        for d in divisors {
            let magic = u64_division_magic(d);
            let mut dividends = vec![0, 1, d - 1, d, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
            for k in [2u64, 3, u64::MAX / d] {
                if let Some(m) = d.checked_mul(k) {
                    dividends.extend([m - 1, m, m.saturating_add(1)]);
                }
            }
            dividends.extend((0..500).map(|_| next()));
            for n in dividends {
                assert_eq!(quotient(magic, n, 64), n / d, "{n} / {d}: {magic:?}");
            }
        }
    }

    #[test]
    fn known_multipliers() {
        // The multipliers compilers are known to use for these divisors.
        assert_eq!(
            u64_division_magic(10),
            DivisionMagic { multiplier: 0xCCCC_CCCC_CCCC_CCCD, shift: 3, add_back: false }
        );
        assert_eq!(
            u64_division_magic(7),
            DivisionMagic { multiplier: 0x2492_4924_9249_2493, shift: 2, add_back: true }
        );
    }
}
