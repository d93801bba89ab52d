// Union-find over generated graphs: Kruskal's minimum spanning forest (edge indices
// sorted with sort_by_key) checked against Borůvka's (cheapest edge per component,
// Vec<Option<..>>), generic over three weight types (u16 with many ties, u32, and a
// derived-Ord struct); single-linkage clustering (Kruskal stopped at k components)
// with cluster sizes grouped and ranked; offline threshold-connectivity queries swept
// against the sorted edges with a peekable iterator; a percolation run recording
// milestones through a closure. Path halving and union by size in a Vec<struct>.

use std::cmp::Ordering;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() >> 32) * n as u64 >> 32) as u32
    }
}

trait Weight: Copy + Ord {
    fn cost(self) -> u64;
    fn make(rng: &mut Rng, dist: u32) -> Self;
}
impl Weight for u16 {
    fn cost(self) -> u64 {
        self as u64
    }
    fn make(rng: &mut Rng, dist: u32) -> Self {
        // coarse: lots of equal weights
        (dist.min(4000) / 8 + rng.below(4)) as u16
    }
}
impl Weight for u32 {
    fn cost(self) -> u64 {
        self as u64
    }
    fn make(rng: &mut Rng, dist: u32) -> Self {
        dist * 1024 + rng.below(1024)
    }
}
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Lex {
    tier: u8,
    len: u16,
    salt: u32,
}
impl Weight for Lex {
    fn cost(self) -> u64 {
        ((self.tier as u64) << 40) | ((self.len as u64) << 24) | (self.salt as u64 & 0xff_ffff)
    }
    fn make(rng: &mut Rng, dist: u32) -> Self {
        let r = rng.next();
        Lex { tier: (r % 3) as u8 + u8::from(dist > 600), len: dist.min(65535) as u16, salt: (r >> 40) as u32 }
    }
}

#[derive(Clone, Copy)]
struct Edge<W> {
    u: u32,
    v: u32,
    w: W,
}

#[derive(Clone, Copy)]
struct Slot {
    parent: u32,
    size: u32,
}

struct Dsu {
    slots: Vec<Slot>,
    comps: usize,
}

impl Dsu {
    fn new(n: usize) -> Self {
        Dsu { slots: (0..n as u32).map(|i| Slot { parent: i, size: 1 }).collect(), comps: n }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.slots[x as usize].parent;
            if p == x {
                return x;
            }
            let gp = self.slots[p as usize].parent;
            self.slots[x as usize].parent = gp;
            x = gp;
        }
    }
    fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.slots[ra as usize].size < self.slots[rb as usize].size {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.slots[rb as usize].parent = ra;
        self.slots[ra as usize].size += self.slots[rb as usize].size;
        self.comps -= 1;
        true
    }
    fn same(&mut self, a: u32, b: u32) -> bool {
        self.find(a) == self.find(b)
    }
    fn size_of(&mut self, a: u32) -> u32 {
        let r = self.find(a);
        self.slots[r as usize].size
    }
}

fn fnv<I: IntoIterator<Item = u64>>(h: u64, it: I) -> u64 {
    it.into_iter().fold(h, |h, x| (h ^ x).wrapping_mul(0x100_0000_01b3))
}

/// Points scattered on a side×side square; each joined to a few near points (weight
/// grows with distance) and some far ones. Ids are shuffled so neighbours in the graph
/// are not neighbours in memory.
fn gen_graph<W: Weight>(n: usize, side: u32, seed: u64) -> Vec<Edge<W>> {
    let mut rng = Rng(seed | 1);
    let pts: Vec<(u32, u32)> = (0..n).map(|_| (rng.below(side), rng.below(side))).collect();
    let mut ids: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        ids.swap(i, j);
    }
    // bucket the points in a coarse grid to find near ones
    let cell = 32u32;
    let cells = side.div_ceil(cell);
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); (cells * cells) as usize];
    for (i, &(x, y)) in pts.iter().enumerate() {
        buckets[((y / cell) * cells + x / cell) as usize].push(i as u32);
    }
    let mut edges = Vec::with_capacity(n * 4);
    for (i, &(x, y)) in pts.iter().enumerate() {
        let (cx, cy) = (x / cell, y / cell);
        let near = buckets[(cy * cells + cx) as usize]
            .iter()
            .copied()
            .filter(|&j| j as usize > i)
            .map(|j| {
                let (px, py) = pts[j as usize];
                (x.abs_diff(px) + y.abs_diff(py), j)
            })
            .filter(|&(d, _)| d < 48);
        let mut cand: Vec<(u32, u32)> = near.collect();
        cand.sort_unstable();
        for &(d, j) in cand.iter().take(3) {
            edges.push(Edge { u: ids[i], v: ids[j as usize], w: W::make(&mut rng, d) });
        }
        if rng.below(4) == 0 {
            let j = rng.below(n as u32);
            if j as usize != i {
                let (px, py) = pts[j as usize];
                let d = x.abs_diff(px) + y.abs_diff(py);
                edges.push(Edge { u: ids[i], v: ids[j as usize], w: W::make(&mut rng, d) });
            }
        }
    }
    edges
}

/// Kruskal: edge indices ordered by (weight, index), which makes the forest unique.
fn kruskal<W: Weight>(n: usize, edges: &[Edge<W>], stop_at: usize) -> (Vec<u32>, Dsu) {
    let mut order: Vec<u32> = (0..edges.len() as u32).collect();
    order.sort_by_key(|&i| (edges[i as usize].w, i));
    let mut dsu = Dsu::new(n);
    let mut chosen = Vec::with_capacity(n);
    for i in order {
        if dsu.comps <= stop_at {
            break;
        }
        let e = &edges[i as usize];
        if dsu.union(e.u, e.v) {
            chosen.push(i);
        }
    }
    (chosen, dsu)
}

/// Borůvka: each round every component picks its cheapest outgoing edge (ties by
/// index), then all picks are merged.
fn boruvka<W: Weight>(n: usize, edges: &[Edge<W>]) -> (Vec<u32>, u32) {
    let mut dsu = Dsu::new(n);
    let mut chosen = Vec::with_capacity(n);
    let mut cheapest: Vec<Option<u32>> = vec![None; n];
    let better = |a: u32, b: Option<u32>| -> bool {
        match b {
            None => true,
            Some(b) => (edges[a as usize].w, a).cmp(&(edges[b as usize].w, b)) == Ordering::Less,
        }
    };
    let mut rounds = 0;
    loop {
        rounds += 1;
        cheapest.iter_mut().for_each(|c| *c = None);
        for (i, e) in edges.iter().enumerate() {
            let (ru, rv) = (dsu.find(e.u), dsu.find(e.v));
            if ru == rv {
                continue;
            }
            for r in [ru, rv] {
                if better(i as u32, cheapest[r as usize]) {
                    cheapest[r as usize] = Some(i as u32);
                }
            }
        }
        let picks: Vec<u32> = cheapest.iter().flatten().copied().collect();
        if picks.is_empty() {
            break;
        }
        for i in picks {
            let e = &edges[i as usize];
            if dsu.union(e.u, e.v) {
                chosen.push(i);
            }
        }
    }
    (chosen, rounds)
}

fn total<W: Weight>(edges: &[Edge<W>], ids: &[u32]) -> u64 {
    ids.iter().map(|&i| edges[i as usize].w.cost()).sum()
}

fn clusters(n: usize, dsu: &mut Dsu) -> Vec<u32> {
    let mut count = vec![0u32; n];
    for x in 0..n as u32 {
        let r = dsu.find(x);
        count[r as usize] += 1;
    }
    let mut sizes: Vec<u32> = count.into_iter().filter(|&c| c > 0).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes
}

/// Offline queries "are s and t connected using only edges of weight <= limit?",
/// answered in one sweep: queries sorted by limit, edges added as the limit passes.
fn threshold_queries<W: Weight>(n: usize, edges: &[Edge<W>], queries: &[(u32, u32, W)]) -> (u32, u64) {
    let mut sorted: Vec<&Edge<W>> = edges.iter().collect();
    sorted.sort_by(|a, b| a.w.cmp(&b.w));
    let mut qs: Vec<(usize, &(u32, u32, W))> = queries.iter().enumerate().collect();
    qs.sort_by_key(|&(_, q)| q.2);
    let mut dsu = Dsu::new(n);
    let mut it = sorted.into_iter().peekable();
    let mut answers = vec![false; queries.len()];
    let mut yes = 0;
    for (qi, &(s, t, limit)) in qs {
        while let Some(e) = it.next_if(|e| e.w <= limit) {
            dsu.union(e.u, e.v);
        }
        if dsu.same(s, t) {
            answers[qi] = true;
            yes += 1;
        }
    }
    let h = fnv(
        0xcbf2_9ce4_8422_2325,
        answers.chunks(64).map(|c| c.iter().fold(0u64, |m, &b| (m << 1) | b as u64)),
    );
    (yes, h)
}

fn mst_case<W: Weight>(n: usize, side: u32, seed: u64) -> u64 {
    let edges: Vec<Edge<W>> = gen_graph(n, side, seed);
    let (kr, mut kdsu) = kruskal(n, &edges, 1);
    let (bo, rounds) = boruvka(n, &edges);
    let kw = total(&edges, &kr);
    let bw = total(&edges, &bo);
    let mut ks = kr.clone();
    let mut bs = bo.clone();
    ks.sort_unstable();
    bs.sort_unstable();
    let agree = ks == bs && kw == bw;
    let comps = kdsu.comps as u64;
    let sizes = clusters(n, &mut kdsu);
    let mut h = fnv(0xcbf2_9ce4_8422_2325, [kw, bw, kr.len() as u64, rounds as u64, comps, agree as u64]);
    h = fnv(h, sizes.iter().take(6).map(|&s| s as u64));
    // single-linkage clustering into k groups: stop Kruskal early
    for k in [2usize, 16, 200, n / 50] {
        let (chosen, mut dsu) = kruskal(n, &edges, k);
        let sizes = clusters(n, &mut dsu);
        let max_gap = chosen.last().map(|&i| edges[i as usize].w.cost()).unwrap_or(0);
        let singletons = sizes.iter().rev().take_while(|&&s| s == 1).count();
        h = fnv(h, sizes.iter().take(5).map(|&s| s as u64));
        h = fnv(h, [max_gap, singletons as u64, sizes.len() as u64]);
    }
    // threshold queries, limits drawn from the weights of random edges
    let mut rng = Rng(seed ^ 0x5151_5151);
    let queries: Vec<(u32, u32, W)> = (0..n / 2)
        .map(|_| {
            let e = &edges[rng.below(edges.len() as u32) as usize];
            (rng.below(n as u32), rng.below(n as u32), e.w)
        })
        .collect();
    let (yes, qh) = threshold_queries(n, &edges, &queries);
    fnv(h, [yes as u64, qh])
}

/// Random edges into an empty graph until it is connected; milestones recorded by a
/// closure whenever the component count halves or the largest component doubles.
fn percolation(n: usize, seed: u64) -> u64 {
    let mut rng = Rng(seed);
    let mut dsu = Dsu::new(n);
    let mut log: Vec<(u32, u32, u32)> = Vec::new();
    let mut next_comps = n / 2;
    let mut next_big = 2u32;
    let mut biggest = 1u32;
    let mut added = 0u32;
    let mut record = |kind: u32, added: u32, value: u32| log.push((kind, added, value));
    while dsu.comps > 1 {
        let (a, b) = (rng.below(n as u32), rng.below(n as u32));
        added += 1;
        if dsu.union(a, b) {
            biggest = biggest.max(dsu.size_of(a));
            if dsu.comps <= next_comps {
                record(0, added, dsu.comps as u32);
                next_comps /= 2;
            }
            if biggest >= next_big {
                record(1, added, biggest);
                next_big *= 2;
            }
        }
    }
    record(2, added, biggest);
    let steps: u64 = log.windows(2).map(|w| (w[1].1 - w[0].1) as u64).max().unwrap_or(0);
    fnv(steps, log.iter().map(|&(k, a, v)| ((k as u64) << 60) ^ ((a as u64) << 24) ^ v as u64))
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut h = 0u64;
    h ^= mst_case::<u32>(40_000, 1300, 11).rotate_left(1);
    h ^= mst_case::<u16>(40_000, 1300, 22).rotate_left(2);
    h ^= mst_case::<Lex>(40_000, 1300, 33).rotate_left(3);
    for s in 0..4 {
        h ^= percolation(100_000, 1000 + s).rotate_left(7 * s as u32);
    }
    (h ^ (h >> 32)) as u32
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("{}", run());
}
