// 64/128-bit number theory: deterministic Miller-Rabin for u64 using u128 mulmod
// (u128 multiply + u128 remainder), a Montgomery-form variant (u128 widening multiply
// only) cross-checked against it, Pollard-rho (Brent) factorisation, gcd, and a
// u128 multiply-accumulate hash. Generic over a small Modular trait (static dispatch)
// and also driven through trait objects.

trait MulMod {
    fn name(&self) -> u32;
    fn mul(&self, a: u64, b: u64) -> u64;
    fn to_form(&self, a: u64) -> u64;
    fn from_form(&self, a: u64) -> u64;
    fn one(&self) -> u64;
}

struct Plain {
    m: u64,
}

impl MulMod for Plain {
    fn name(&self) -> u32 {
        1
    }
    #[inline]
    fn mul(&self, a: u64, b: u64) -> u64 {
        ((a as u128 * b as u128) % self.m as u128) as u64
    }
    fn to_form(&self, a: u64) -> u64 {
        a % self.m
    }
    fn from_form(&self, a: u64) -> u64 {
        a
    }
    fn one(&self) -> u64 {
        1 % self.m
    }
}

/// Montgomery arithmetic with R = 2^64, odd modulus.
struct Mont {
    m: u64,
    minv: u64, // -m^{-1} mod 2^64
    r2: u64,   // R^2 mod m
}

impl Mont {
    fn new(m: u64) -> Mont {
        debug_assert!(m & 1 == 1);
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m.wrapping_mul(inv)));
        }
        let r = ((1u128 << 64) % m as u128) as u64;
        let r2 = ((r as u128 * r as u128) % m as u128) as u64;
        Mont { m, minv: inv.wrapping_neg(), r2 }
    }
    #[inline]
    fn redc(&self, t: u128) -> u64 {
        let u = (t as u64).wrapping_mul(self.minv);
        let (s, carry) = t.overflowing_add(u as u128 * self.m as u128);
        let mut r = (s >> 64) as u64;
        if carry || r >= self.m {
            r = r.wrapping_sub(self.m);
        }
        r
    }
}

impl MulMod for Mont {
    fn name(&self) -> u32 {
        2
    }
    #[inline]
    fn mul(&self, a: u64, b: u64) -> u64 {
        self.redc(a as u128 * b as u128)
    }
    fn to_form(&self, a: u64) -> u64 {
        self.redc((a % self.m) as u128 * self.r2 as u128)
    }
    fn from_form(&self, a: u64) -> u64 {
        self.redc(a as u128)
    }
    fn one(&self) -> u64 {
        self.to_form(1)
    }
}

fn pow_mod<M: MulMod + ?Sized>(mm: &M, base: u64, mut e: u64) -> u64 {
    let mut r = mm.one();
    let mut b = mm.to_form(base);
    while e > 0 {
        if e & 1 == 1 {
            r = mm.mul(r, b);
        }
        b = mm.mul(b, b);
        e >>= 1;
    }
    r
}

const WITNESSES: [u64; 7] = [2, 325, 9375, 28178, 450775, 9780504, 1795265022];

fn is_prime_with<M: MulMod + ?Sized>(mm: &M, n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if n % p == 0 {
            return n == p;
        }
    }
    let d = (n - 1) >> (n - 1).trailing_zeros();
    let s = (n - 1).trailing_zeros();
    let one = mm.one();
    let minus_one = mm.to_form(n - 1);
    'outer: for &a in WITNESSES.iter() {
        let a = a % n;
        if a == 0 {
            continue;
        }
        let mut x = pow_mod(mm, a, d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = mm.mul(x, x);
            if x == minus_one {
                continue 'outer;
            }
        }
        return false;
    }
    true
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// Brent's variant of Pollard rho using plain u128 mulmod; returns a nontrivial factor.
fn rho(n: u64, seed: u64) -> u64 {
    if n % 2 == 0 {
        return 2;
    }
    let mm = Plain { m: n };
    let mut c = seed % (n - 1) + 1;
    loop {
        let f = |x: u64| {
            let y = mm.mul(x, x) as u128 + c as u128;
            (if y >= n as u128 { y - n as u128 } else { y }) as u64
        };
        let (mut x, mut y, mut g, mut q) = (2u64, 2u64, 1u64, 1u64);
        let mut ys = 0;
        let mut r = 1u32;
        let m = 64u32;
        while g == 1 {
            x = y;
            for _ in 0..r {
                y = f(y);
            }
            let mut k = 0;
            while k < r && g == 1 {
                ys = y;
                for _ in 0..m.min(r - k) {
                    y = f(y);
                    q = mm.mul(q, x.abs_diff(y));
                }
                g = gcd(q, n);
                k += m;
            }
            r *= 2;
        }
        if g == n {
            loop {
                ys = f(ys);
                g = gcd(x.abs_diff(ys), n);
                if g > 1 {
                    break;
                }
            }
        }
        if g != n {
            return g;
        }
        c = c % (n - 1) + 1;
    }
}

fn factor(n: u64, out: &mut Vec<u64>) {
    if n == 1 {
        return;
    }
    let mm = Mont::new(n | 1);
    if n & 1 == 1 && is_prime_with(&mm, n) || n == 2 {
        out.push(n);
        return;
    }
    let mut seed = 1;
    loop {
        let d = rho(n, seed);
        if d != n && d != 1 {
            factor(d, out);
            factor(n / d, out);
            return;
        }
        seed += 1;
    }
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut state: u64 = 0x0123_4567_89ab_cdef;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut acc: u128 = 0;
    let mut primes = 0u32;
    let mut disagree = 0u32;

    // 1. primality of random odd 64-bit numbers; both implementations via trait objects
    for i in 0..18000u32 {
        let n = next() | 1;
        let impls: [Box<dyn MulMod>; 2] = [Box::new(Plain { m: n }), Box::new(Mont::new(n))];
        let res: Vec<bool> = impls.iter().map(|m| is_prime_with(m.as_ref(), n)).collect();
        if res[0] != res[1] {
            disagree += 1;
        }
        // Fermat residue 3^(n-1) mod n, converted out of each representation
        let fr: Vec<u64> = impls.iter().map(|m| m.from_form(pow_mod(m.as_ref(), 3, n - 1))).collect();
        if fr[0] != fr[1] {
            disagree += 1;
        }
        acc = acc.rotate_left(9) ^ fr[0] as u128;
        if res[1] {
            primes += 1;
            acc = acc.wrapping_mul(0x2_0000_0000_0000_0000_0000_0000_0001_5b).wrapping_add(n as u128);
        }
        let _ = impls[(i & 1) as usize].name();
    }

    // 2. next prime after random starting points (Montgomery, static dispatch)
    for _ in 0..3000 {
        let mut n = (next() >> 2) | 1;
        loop {
            if is_prime_with(&Mont::new(n), n) {
                break;
            }
            n += 2;
        }
        acc ^= (n as u128) << (n % 64);
    }

    // 3. factor semiprimes and random composites with Pollard rho
    let mut fsum: u64 = 0;
    for i in 0..300u32 {
        let n = if i % 3 == 0 {
            // product of two ~26-bit primes
            let mut p = (next() >> 38) | 1;
            while !is_prime_with(&Mont::new(p), p) {
                p += 2;
            }
            let mut q = (next() >> 38) | 1;
            while !is_prime_with(&Mont::new(q), q) {
                q += 2;
            }
            p * q
        } else {
            next() >> (i % 20)
        };
        let mut fs = Vec::new();
        factor(n.max(2), &mut fs);
        fs.sort_unstable();
        let prod = fs.iter().fold(1u64, |a, &b| a.wrapping_mul(b));
        if prod != n.max(2) {
            disagree += 1;
        }
        fsum = fs.iter().fold(fsum, |a, &f| a.rotate_left(7) ^ f);
    }

    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("primes {} disagree {} fsum {:x}", primes, disagree, fsum);
    }
    let h = acc ^ ((fsum as u128) << 32) ^ ((primes as u128) << 96) ^ ((disagree as u128) << 112);
    (h as u32) ^ ((h >> 32) as u32) ^ ((h >> 64) as u32) ^ ((h >> 96) as u32)
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("{}", run());
}
