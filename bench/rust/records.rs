// Iterator- and closure-heavy data processing over generated records: map/filter/fold,
// zip, windows, chunks, enumerate, rev, flat_map, sort_by_key/sort_unstable_by, dedup_by_key,
// binary_search, retain, group-by over sorted runs, small String building, generic
// helpers and closures captured in Boxes.

#[derive(Clone, Debug)]
struct Record {
    id: u32,
    dept: u8,
    region: u8,
    age: u8,
    salary: u32,
    score: i32,
    tags: u16,
    name: String,
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(0x5851_F42D_4C95_7F2D).wrapping_add(0x1405_7B7E_F767_814F);
        (self.0 >> 32) as u32
    }
}

const SYL: [&str; 12] = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "xe", "yo", "zu", "qi"];

fn gen_records(n: u32, seed: u64) -> Vec<Record> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|i| {
            let a = r.next();
            let b = r.next();
            let nsyl = 2 + (a % 3) as usize;
            let name: String = (0..nsyl)
                .map(|k| SYL[((b >> (k * 4)) % 12) as usize])
                .collect::<Vec<_>>()
                .concat();
            Record {
                id: i.wrapping_mul(2654435761) % 1_000_003,
                dept: (a >> 8) as u8 % 13,
                region: (a >> 16) as u8 % 5,
                age: 20 + (a >> 24) as u8 % 45,
                salary: 20_000 + b % 180_000,
                score: (r.next() % 2001) as i32 - 1000,
                tags: (r.next() & 0xffff) as u16,
                name,
            }
        })
        .collect()
}

fn fnv<I: IntoIterator<Item = u64>>(h: u64, it: I) -> u64 {
    it.into_iter().fold(h, |h, x| (h ^ x).wrapping_mul(0x100_0000_01b3))
}

fn median<T: Copy + Ord>(v: &mut [T]) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable(mid);
    Some(*m)
}

struct Stats {
    count: u32,
    sum: u64,
    min: u32,
    max: u32,
}

fn stats<'a, I: Iterator<Item = &'a Record>>(it: I, key: impl Fn(&Record) -> u32) -> Stats {
    it.fold(Stats { count: 0, sum: 0, min: u32::MAX, max: 0 }, |mut s, r| {
        let k = key(r);
        s.count += 1;
        s.sum += k as u64;
        s.min = s.min.min(k);
        s.max = s.max.max(k);
        s
    })
}

fn process(recs: &mut Vec<Record>, round: u32) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ round as u64;

    // 1. per-department aggregates via sort + group-by over runs
    recs.sort_by_key(|r| (r.dept, r.region, r.id));
    let mut start = 0;
    while start < recs.len() {
        let d = recs[start].dept;
        let end = start + recs[start..].iter().take_while(|r| r.dept == d).count();
        let group = &recs[start..end];
        let st = stats(group.iter(), |r| r.salary);
        let mut ages: Vec<u8> = group.iter().map(|r| r.age).collect();
        let med = median(&mut ages).unwrap_or(0);
        let seniors = group.iter().filter(|r| r.age >= 50).count() as u64;
        h = fnv(h, [d as u64, st.count as u64, st.sum, st.min as u64, st.max as u64, med as u64, seniors]);
        start = end;
    }

    // 2. moving averages of scores (windows) and chunked sums
    let scores: Vec<i64> = recs.iter().map(|r| r.score as i64).collect();
    let ma_max = scores.windows(16).map(|w| w.iter().sum::<i64>()).max().unwrap_or(0);
    let ma_min = scores.windows(16).map(|w| w.iter().sum::<i64>()).min().unwrap_or(0);
    let chunk_sig = scores
        .chunks(64)
        .enumerate()
        .map(|(i, c)| (c.iter().map(|&x| x * x).sum::<i64>() as u64).wrapping_mul(i as u64 + 1))
        .fold(0u64, |a, b| a.rotate_left(5) ^ b);
    h = fnv(h, [ma_max as u64, ma_min as u64, chunk_sig]);

    // 3. zip of two orderings: by salary desc and by score asc
    let mut by_sal: Vec<usize> = (0..recs.len()).collect();
    by_sal.sort_unstable_by(|&a, &b| recs[b].salary.cmp(&recs[a].salary).then(recs[a].id.cmp(&recs[b].id)));
    let mut by_score: Vec<usize> = (0..recs.len()).collect();
    by_score.sort_by_key(|&i| (recs[i].score, recs[i].id));
    let agree = by_sal.iter().zip(by_score.iter().rev()).filter(|(a, b)| a == b).count();
    let corr: i64 = by_sal
        .iter()
        .zip(by_score.iter())
        .step_by(3)
        .map(|(&a, &b)| (recs[a].score as i64) * (recs[b].age as i64) - (recs[b].score as i64))
        .sum();
    h = fnv(h, [agree as u64, corr as u64]);

    // 4. tags: flat_map over set bits, histogram, dedup of sorted tag lists
    let mut bits: Vec<u8> = recs
        .iter()
        .filter(|r| r.region != (round % 5) as u8)
        .flat_map(|r| (0..16u8).filter(move |b| r.tags >> b & 1 == 1))
        .collect();
    let mut hist = [0u32; 16];
    bits.iter().for_each(|&b| hist[b as usize] += 1);
    bits.sort_unstable();
    bits.dedup();
    h = fnv(h, hist.iter().map(|&x| x as u64));
    h = fnv(h, [bits.len() as u64]);

    // 5. names: sort, dedup, binary search, string building
    let mut names: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    let dups = total - names.len();
    let probes = ["kalo", "mine", "rusa", "tovixe", "yozuqi", "qiqi", "sasasa"];
    let found = probes.iter().filter(|p| names.binary_search(p).is_ok()).count();
    let mut report = String::new();
    for (i, n) in names.iter().enumerate().filter(|(i, _)| i % 97 == round as usize % 97) {
        report.push_str(n);
        report.push(if i % 2 == 0 { ',' } else { ';' });
    }
    let longest = names.iter().copied().max_by_key(|n| (n.len(), *n)).unwrap_or("");
    h = fnv(h, [dups as u64, found as u64, report.len() as u64, longest.len() as u64]);
    h = fnv(h, report.bytes().map(|b| b as u64));

    // 6. boxed closures as a pipeline of transformations, applied to each salary
    let pipeline: Vec<Box<dyn Fn(u64) -> u64>> = vec![
        Box::new(|x| x + 1000),
        Box::new(move |x| x * (round as u64 % 7 + 1)),
        Box::new(|x| if x > 200_000 { x - x / 10 } else { x }),
        Box::new(|x| x ^ (x >> 3)),
    ];
    let transformed: u64 = recs
        .iter()
        .map(|r| pipeline.iter().fold(r.salary as u64, |acc, f| f(acc)))
        .fold(0, |a, b| a.wrapping_add(b).rotate_left(1));
    h = fnv(h, [transformed]);

    // 7. mutate: raise salaries in one dept, retain, dedup_by_key on region runs
    let bump_dept = (round % 13) as u8;
    recs.iter_mut().filter(|r| r.dept == bump_dept).for_each(|r| {
        r.salary = r.salary + r.salary / 20;
        r.score = (r.score + 37) % 1000;
    });
    let before = recs.len();
    recs.retain(|r| !(r.age > 60 && r.score < -900));
    let mut regions: Vec<u8> = recs.iter().map(|r| r.region).collect();
    regions.dedup_by_key(|x| *x);
    h = fnv(h, [(before - recs.len()) as u64, regions.len() as u64]);
    h
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut h = 0u64;
    let mut recs = gen_records(12_000, 42);
    for round in 0..44u32 {
        if round % 8 == 0 {
            let extra = gen_records(1500, round as u64 + 7);
            recs.extend(extra.into_iter().map(|mut r| {
                r.id += 1_000_003 * (round / 8 + 1);
                r
            }));
        }
        h ^= process(&mut recs, round).rotate_left(round);
    }
    (h ^ (h >> 32)) as u32
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("{}", run());
}
