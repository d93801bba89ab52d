// Path finding on a generated weighted grid: A* with a BinaryHeap open set, g-scores and
// parent links kept in HashMaps with a hand-written Fx hasher (deterministic on every
// target), a BTreeMap histogram of path costs, and a Dijkstra run over a Vec-based
// adjacency list of the same grid to cross-check the A* distances.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
type FxSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
struct Pos {
    x: u16,
    y: u16,
}

struct Grid {
    w: u16,
    h: u16,
    cost: Vec<u8>, // 0 = wall, else cost to enter
}

impl Grid {
    fn generate(w: u16, h: u16, seed: u64) -> Grid {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut cost = vec![1u8; w as usize * h as usize];
        // terrain: smooth-ish costs from a few random "hills"
        let hills: Vec<(i32, i32, i32)> = (0..24)
            .map(|_| {
                let r = next();
                ((r % w as u64) as i32, ((r >> 16) % h as u64) as i32, 6 + ((r >> 32) % 20) as i32)
            })
            .collect();
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let mut c = 1i32;
                for &(hx, hy, r) in &hills {
                    let d = (x - hx).abs() + (y - hy).abs();
                    if d < r {
                        c += (r - d) / 3;
                    }
                }
                cost[y as usize * w as usize + x as usize] = c.min(9) as u8;
            }
        }
        // walls: random segments
        for _ in 0..(w as u32 * h as u32 / 40) {
            let r = next();
            let (x0, y0) = ((r % w as u64) as u16, ((r >> 20) % h as u64) as u16);
            let len = 3 + ((r >> 40) % 12) as u16;
            let horiz = (r >> 60) & 1 == 0;
            for k in 0..len {
                let (x, y) = if horiz { (x0 + k, y0) } else { (x0, y0 + k) };
                if x < w && y < h {
                    cost[y as usize * w as usize + x as usize] = 0;
                }
            }
        }
        Grid { w, h, cost }
    }
    fn at(&self, p: Pos) -> u8 {
        self.cost[p.y as usize * self.w as usize + p.x as usize]
    }
    fn neighbors(&self, p: Pos) -> impl Iterator<Item = (Pos, u32)> + '_ {
        const D: [(i32, i32); 4] = [(1, 0), (-1, 0), (0, 1), (0, -1)];
        D.iter().filter_map(move |&(dx, dy)| {
            let nx = p.x as i32 + dx;
            let ny = p.y as i32 + dy;
            if nx < 0 || ny < 0 || nx >= self.w as i32 || ny >= self.h as i32 {
                return None;
            }
            let q = Pos { x: nx as u16, y: ny as u16 };
            match self.at(q) {
                0 => None,
                c => Some((q, c as u32)),
            }
        })
    }
}

fn heuristic(a: Pos, b: Pos) -> u32 {
    (a.x as i32 - b.x as i32).unsigned_abs() + (a.y as i32 - b.y as i32).unsigned_abs()
}

struct AStarResult {
    cost: u32,
    path: Vec<Pos>,
    expanded: u32,
}

fn astar(g: &Grid, start: Pos, goal: Pos) -> Option<AStarResult> {
    let mut open = BinaryHeap::new();
    let mut gscore: FxMap<Pos, u32> = FxMap::default();
    let mut parent: FxMap<Pos, Pos> = FxMap::default();
    let mut closed: FxSet<Pos> = FxSet::default();
    gscore.insert(start, 0);
    open.push(Reverse((heuristic(start, goal), 0u32, start)));
    let mut expanded = 0u32;
    while let Some(Reverse((_, gc, p))) = open.pop() {
        if !closed.insert(p) {
            continue;
        }
        expanded += 1;
        if p == goal {
            let mut path = vec![p];
            let mut cur = p;
            while let Some(&q) = parent.get(&cur) {
                path.push(q);
                cur = q;
            }
            path.reverse();
            return Some(AStarResult { cost: gc, path, expanded });
        }
        for (q, c) in g.neighbors(p) {
            let ng = gc + c;
            let better = match gscore.get(&q) {
                Some(&old) => ng < old,
                None => true,
            };
            if better {
                gscore.insert(q, ng);
                parent.insert(q, p);
                open.push(Reverse((ng + heuristic(q, goal), ng, q)));
            }
        }
    }
    None
}

/// Dijkstra over an explicit adjacency list (Vec<Vec<(u32, u8)>>) from one source.
fn dijkstra_all(adj: &[Vec<(u32, u8)>], src: u32) -> Vec<u32> {
    let mut dist = vec![u32::MAX; adj.len()];
    let mut heap = BinaryHeap::new();
    dist[src as usize] = 0;
    heap.push(Reverse((0u32, src)));
    while let Some(Reverse((d, u))) = heap.pop() {
        if d > dist[u as usize] {
            continue;
        }
        for &(v, w) in &adj[u as usize] {
            let nd = d + w as u32;
            if nd < dist[v as usize] {
                dist[v as usize] = nd;
                heap.push(Reverse((nd, v)));
            }
        }
    }
    dist
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let g = Grid::generate(160, 120, 0x9E37_79B9_7F4A_7C15);
    let w = g.w as u32;
    let adj: Vec<Vec<(u32, u8)>> = (0..g.w as u32 * g.h as u32)
        .map(|i| {
            let p = Pos { x: (i % w) as u16, y: (i / w) as u16 };
            if g.at(p) == 0 {
                Vec::new()
            } else {
                g.neighbors(p).map(|(q, c)| (q.y as u32 * w + q.x as u32, c as u8)).collect()
            }
        })
        .collect();

    let mut rng: u32 = 12345;
    let mut pick = || loop {
        rng = rng.wrapping_mul(1103515245).wrapping_add(12345);
        let x = ((rng >> 8) % g.w as u32) as u16;
        rng = rng.wrapping_mul(1103515245).wrapping_add(12345);
        let y = ((rng >> 8) % g.h as u32) as u16;
        let p = Pos { x, y };
        if g.at(p) != 0 {
            return p;
        }
    };

    let mut hist: BTreeMap<u32, u32> = BTreeMap::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mismatches = 0u32;
    let sources: Vec<Pos> = (0..12).map(|_| pick()).collect();
    for &src in &sources {
        let dist = dijkstra_all(&adj, src.y as u32 * w + src.x as u32);
        for _ in 0..24 {
            let goal = pick();
            let d = dist[goal.y as usize * g.w as usize + goal.x as usize];
            match astar(&g, src, goal) {
                Some(r) => {
                    if r.cost != d {
                        mismatches += 1;
                    }
                    // the path must be connected and its cost must add up
                    let sum: u32 = r.path.windows(2).map(|wd| {
                        debug_assert_eq!(heuristic(wd[0], wd[1]), 1);
                        g.at(wd[1]) as u32
                    }).sum();
                    if sum != r.cost {
                        mismatches += 1;
                    }
                    *hist.entry(r.cost / 16).or_insert(0) += 1;
                    h = (h ^ r.cost as u64 ^ ((r.expanded as u64) << 20)).wrapping_mul(0x100_0000_01b3);
                    for p in r.path.iter().step_by(7) {
                        h = (h ^ ((p.x as u64) << 16 | p.y as u64)).wrapping_mul(0x100_0000_01b3);
                    }
                }
                None => {
                    if d != u32::MAX {
                        mismatches += 1;
                    }
                    h = h.rotate_left(3) ^ 0xdead;
                }
            }
        }
        // fold the full distance field too
        let reach = dist.iter().filter(|&&d| d != u32::MAX).count() as u64;
        let total: u64 = dist.iter().filter(|&&d| d != u32::MAX).map(|&d| d as u64).sum();
        h = (h ^ reach ^ (total << 24)).wrapping_mul(0x100_0000_01b3);
    }
    for (k, v) in &hist {
        h = (h ^ ((*k as u64) << 32 | *v as u64)).wrapping_mul(0x100_0000_01b3);
    }
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("mismatches {} hist {:?}", mismatches, hist);
    }
    h ^= (mismatches as u64) << 40;
    (h ^ (h >> 32)) as u32
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("{}", run());
}
