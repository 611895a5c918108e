//! The partial quicksort Redis uses for `COUNT` below the number of matches (its `pqsort`,
//! Bentley–McIlroy's three-way quicksort that only recurses into partitions overlapping the
//! wanted prefix; Redis's copy has no switch to insertion sort after a swap-free pass).
//! Reimplemented so that points at equal distances come out in the same order as Redis
//! returns them: the prefix it leaves sorted is the same, ties included.

use std::cmp::Ordering;

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let (Some(x), Some(y), Some(z)) = (v.get(a), v.get(b), v.get(c)) else {
        return a;
    };
    if cmp(x, y) == Ordering::Less {
        if cmp(y, z) == Ordering::Less {
            b
        } else if cmp(x, z) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(y, z) == Ordering::Greater {
        b
    } else if cmp(x, z) == Ordering::Less {
        a
    } else {
        c
    }
}

fn greater<T>(v: &[T], i: usize, j: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> bool {
    match (v.get(i), v.get(j)) {
        (Some(x), Some(y)) => cmp(x, y) == Ordering::Greater,
        _ => false,
    }
}

fn cmp_at<T>(v: &[T], i: usize, j: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> Ordering {
    match (v.get(i), v.get(j)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    }
}

fn insertion<T>(v: &mut [T], a: usize, n: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in a + 1..a + n {
        let mut l = m;
        while l > a && greater(v, l - 1, l, cmp) {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Sorts `v` enough that `v[..=last]` holds the smallest elements in order (the rest in
/// some order), exactly as Redis's `pqsort(v, n, size, cmp, 0, last)` leaves them.
pub(crate) fn pqsort<T>(v: &mut [T], last: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    pqsort_range(v, 0, last, cmp);
}

/// Sorts `v` enough that `v[first..=last]` holds what a full sort would put there, exactly as
/// Redis's `pqsort(v, n, size, cmp, first, last)` leaves it (SORT ... LIMIT uses a window,
/// GEOSEARCH ... COUNT a prefix): items that compare equal end where Redis leaves them. The
/// partitions still to sort are kept on an explicit stack, not in recursion an adversarial
/// input could deepen; they are disjoint, so the order they are sorted in changes nothing.
pub fn pqsort_range<T>(v: &mut [T], first: usize, last: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    // Redis sorts a partition only if it overlaps the window.
    let wanted = |lo: usize, n: usize| !(last < lo || first >= lo + n);
    let mut todo = vec![(0usize, v.len())];
    while let Some((a, n)) = todo.pop() {
        if n < 7 {
            insertion(v, a, n, cmp);
            continue;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp_at(v, pb, a, cmp);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp_at(v, pc, a, cmp);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && wanted(a, r) {
            todo.push((a, r));
        }
        let r = pd - pc;
        if r > 1 && wanted(pn - r, r) {
            todo.push((pn - r, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ties keep Redis's order: observed with redis-server 7.0 (COUNT 3 over eight members at
    /// one place and two farther away, in scan order y a b c d e f g h x).
    #[test]
    fn ties_like_redis() {
        let d = [157.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 156.0];
        let names = ["y", "a", "b", "c", "d", "e", "f", "g", "h", "x"];
        let mut v: Vec<(f64, &str)> = d.iter().copied().zip(names).collect();
        pqsort(&mut v, 2, &|a: &(f64, &str), b: &(f64, &str)| {
            a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal)
        });
        let got: Vec<&str> = v.iter().map(|p| p.1).collect();
        assert_eq!(got[..3], ["g", "a", "b"]);
    }

    #[test]
    fn prefix_is_sorted_and_smallest() {
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..800 {
            let n = rng.usize(1..if round % 10 == 0 { 3000 } else { 300 });
            let span = [1, 2, 50, u32::MAX][round % 4];
            let mut v: Vec<u32> = (0..n).map(|_| rng.u32(0..span)).collect();
            match round % 7 {
                0 => v.sort_unstable(),
                1 => v.sort_unstable_by(|a, b| b.cmp(a)),
                _ => {}
            }
            let last = rng.usize(0..n);
            let mut got = v.clone();
            pqsort(&mut got, last, &|a: &u32, b: &u32| a.cmp(b));
            let mut want = v.clone();
            want.sort_unstable();
            assert_eq!(got[..=last], want[..=last], "n {n} last {last}");
            let mut rest = got.clone();
            rest.sort_unstable();
            assert_eq!(rest, want, "a permutation");
            // A window anywhere holds what a full sort puts there.
            let first = rng.usize(0..n);
            let last = rng.usize(first..n);
            let mut got = v.clone();
            pqsort_range(&mut got, first, last, &|a: &u32, b: &u32| a.cmp(b));
            assert_eq!(
                got[first..=last],
                want[first..=last],
                "n {n} {first}..={last}"
            );
        }
    }

    /// An adversarial order for median-of-3 quicksorts does not deepen a recursion (there
    /// is none) or fail: 200,000 items, the prefix still right.
    #[test]
    fn large_inputs_need_no_recursion() {
        let n = 200_000u32;
        let mut v: Vec<u32> = (0..n).map(|i| if i % 2 == 0 { i } else { n - i }).collect();
        pqsort_range(&mut v, 0, 9, &|a: &u32, b: &u32| a.cmp(b));
        let mut want: Vec<u32> = (0..n).map(|i| if i % 2 == 0 { i } else { n - i }).collect();
        want.sort_unstable();
        assert_eq!(v[..10], want[..10]);
    }
}
