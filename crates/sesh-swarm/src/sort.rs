//! libstdc++'s `std::sort` (GCC 12), step for step, so that elements comparing equal end up in
//! exactly the order oxend gets.
//!
//! oxend sorts `(swarm id, size)` pairs by size with `std::sort`, which is not stable: for more
//! than 16 elements its introsort (median-of-three pivot moved to the front, unguarded Hoare
//! partition, heapsort past a depth of 2·⌊log2 n⌋, then an insertion sort of the first 16 and an
//! unguarded insertion of the rest) reorders equal sizes in a way that depends on every element.
//! Which swarm a node is assigned to depends on that order, so replaying the live network needs
//! the same algorithm, not just any sort.
//!
//! Every index below is kept in bounds by the algorithm's own invariants (the median-of-three
//! pivot at the front is the sentinel that bounds the unguarded scans); the indexing is written
//! as in the original so that it can be checked against it line by line.
#![allow(clippy::indexing_slicing)]

/// libstdc++'s `_S_threshold`.
const THRESHOLD: usize = 16;

/// Sorts `v` as libstdc++'s `std::sort(v.begin(), v.end(), less)` does: the line-by-line port,
/// kept as the oracle that [`std_sort_window`] is tested against (and that was checked against
/// GCC 12's own `std::sort`).
#[cfg(test)]
pub(crate) fn std_sort<T: Copy>(v: &mut [T], less: impl Fn(&T, &T) -> bool + Copy) {
    let n = v.len();
    if n > 1 {
        introsort_loop(v, 0, n, 2 * floor_log2(n), less);
        final_insertion_sort(v, 0, n, less);
    }
}

/// Puts into `v[window]` exactly what [`std_sort`] would put there, doing only the work that
/// decides those positions: like a quickselect, it follows libstdc++'s introsort into the
/// partitions that overlap `window` and leaves the others unsorted. Expected `O(n)` for a small
/// window instead of `O(n log n)`.
///
/// This is exact because libstdc++'s final insertion sort never moves an element across the
/// boundary of a partition (every element left of a cut is not greater than any element right
/// of it, and the insertion stops at the first element that is not greater than the one being
/// inserted), so it amounts to a stable insertion sort of each leaf partition on its own.
pub(crate) fn std_sort_window<T: Copy>(
    v: &mut [T],
    window: core::ops::Range<usize>,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    let n = v.len();
    let window = window.start.min(n)..window.end.min(n);
    if n < 2 || window.is_empty() {
        return;
    }
    let mut leaves = Vec::new();
    introsort_window(v, 0, n, 2 * floor_log2(n), less, &window, &mut leaves);
    for (first, last) in leaves {
        insertion_sort(v, first, last, less);
    }
}

fn overlaps(first: usize, last: usize, window: &core::ops::Range<usize>) -> bool {
    first < window.end && window.start < last
}

/// `introsort_loop`, skipping ranges outside `window` and recording the leaf ranges (at most
/// [`THRESHOLD`] long) that the final insertion sort would sort.
fn introsort_window<T: Copy>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    mut depth_limit: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
    window: &core::ops::Range<usize>,
    leaves: &mut Vec<(usize, usize)>,
) {
    while last - first > THRESHOLD {
        if depth_limit == 0 {
            make_heap(v, first, last, less);
            sort_heap(v, first, last, less);
            return;
        }
        depth_limit -= 1;
        let cut = unguarded_partition_pivot(v, first, last, less);
        if overlaps(cut, last, window) {
            introsort_window(v, cut, last, depth_limit, less, window, leaves);
        }
        last = cut;
        if !overlaps(first, last, window) {
            return;
        }
    }
    leaves.push((first, last));
}

fn floor_log2(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

#[cfg(test)]
fn introsort_loop<T: Copy>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    mut depth_limit: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    while last - first > THRESHOLD {
        if depth_limit == 0 {
            // __partial_sort(first, last, last): a heapsort of the range.
            make_heap(v, first, last, less);
            sort_heap(v, first, last, less);
            return;
        }
        depth_limit -= 1;
        let cut = unguarded_partition_pivot(v, first, last, less);
        introsort_loop(v, cut, last, depth_limit, less);
        last = cut;
    }
}

fn unguarded_partition_pivot<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: impl Fn(&T, &T) -> bool,
) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(v, first, first + 1, mid, last - 1, &less);
    unguarded_partition(v, first + 1, last, first, &less)
}

fn move_median_to_first<T: Copy>(
    v: &mut [T],
    result: usize,
    a: usize,
    b: usize,
    c: usize,
    less: &impl Fn(&T, &T) -> bool,
) {
    let lt = |x: usize, y: usize| less(&v[x], &v[y]);
    let pick = if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if lt(a, c) {
        a
    } else if lt(b, c) {
        c
    } else {
        b
    };
    v.swap(result, pick);
}

fn unguarded_partition<T: Copy>(
    v: &mut [T],
    mut first: usize,
    mut last: usize,
    pivot: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> usize {
    loop {
        while less(&v[first], &v[pivot]) {
            first += 1;
        }
        last -= 1;
        while less(&v[pivot], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

#[cfg(test)]
fn final_insertion_sort<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    if last - first > THRESHOLD {
        insertion_sort(v, first, first + THRESHOLD, less);
        for i in first + THRESHOLD..last {
            unguarded_linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, first, last, less);
    }
}

fn insertion_sort<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    if first == last {
        return;
    }
    for i in first + 1..last {
        if less(&v[i], &v[first]) {
            let value = v[i];
            v.copy_within(first..i, first + 1);
            v[first] = value;
        } else {
            unguarded_linear_insert(v, i, less);
        }
    }
}

fn unguarded_linear_insert<T: Copy>(v: &mut [T], mut last: usize, less: impl Fn(&T, &T) -> bool) {
    let value = v[last];
    let mut next = last - 1;
    while less(&value, &v[next]) {
        v[last] = v[next];
        last = next;
        next -= 1;
    }
    v[last] = value;
}

fn make_heap<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    let len = last - first;
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        let value = v[first + parent];
        adjust_heap(v, first, parent, len, value, less);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

fn sort_heap<T: Copy>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    less: impl Fn(&T, &T) -> bool + Copy,
) {
    while last - first > 1 {
        last -= 1;
        // __pop_heap(first, last, last)
        let value = v[last];
        v[last] = v[first];
        adjust_heap(v, first, 0, last - first, value, less);
    }
}

fn adjust_heap<T: Copy>(
    v: &mut [T],
    first: usize,
    mut hole: usize,
    len: usize,
    value: T,
    less: impl Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut second = hole;
    while second < (len - 1) / 2 {
        second = 2 * (second + 1);
        if less(&v[first + second], &v[first + second - 1]) {
            second -= 1;
        }
        v[first + hole] = v[first + second];
        hole = second;
    }
    if len & 1 == 0 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        v[first + hole] = v[first + second - 1];
        hole = second - 1;
    }
    // __push_heap(first, hole, top, value)
    let mut parent = hole.wrapping_sub(1) / 2;
    while hole > top && less(&v[first + parent], &value) {
        v[first + hole] = v[first + parent];
        hole = parent;
        parent = hole.wrapping_sub(1) / 2;
    }
    v[first + hole] = value;
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn sorts(v: &[(u32, u32)]) {
        let mut sorted = v.to_vec();
        std_sort(&mut sorted, |a, b| a.1 < b.1);
        assert!(sorted.windows(2).all(|w| w[0].1 <= w[1].1), "{sorted:?}");
        let mut a: Vec<_> = sorted.clone();
        let mut b: Vec<_> = v.to_vec();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "a permutation");
    }

    /// The windowed sort agrees with the full one on every window, over shapes that exercise
    /// ties, sorted and reversed runs, and the heapsort fallback.
    #[test]
    fn window_matches_full_sort() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..3000u64 {
            let n = (next() % 300) as u32;
            let distinct = [1u64, 2, 3, 5, 9, 40, 1000][(case % 7) as usize];
            let v: Vec<(u32, u32)> = (0..n)
                .map(|i| {
                    let key = match case % 5 {
                        0 => u64::from(i) % distinct,
                        1 => u64::from(n - i) % distinct,
                        2 => u64::from(if i < n / 2 { i } else { n - i }),
                        _ => next() % distinct,
                    };
                    (i, key as u32)
                })
                .collect();
            let mut full = v.clone();
            std_sort(&mut full, |a, b| a.1 < b.1);
            let lo = if n == 0 { 0 } else { (next() % u64::from(n)) as usize };
            let hi = lo + (next() % 20) as usize + 1;
            let mut windowed = v.clone();
            std_sort_window(&mut windowed, lo..hi, |a, b| a.1 < b.1);
            let hi = hi.min(v.len());
            assert_eq!(windowed[lo..hi], full[lo..hi], "case {case}, n {n}, window {lo}..{hi}");
            let mut whole = v.clone();
            std_sort_window(&mut whole, 0..v.len(), |a, b| a.1 < b.1);
            assert_eq!(whole, full, "case {case}: whole window");
        }
    }

    #[test]
    fn sorts_every_shape() {
        for n in 0..200u32 {
            let v: Vec<(u32, u32)> = (0..n).map(|i| (i, (i * 7919 + 13) % 11)).collect();
            sorts(&v);
            let rev: Vec<(u32, u32)> = (0..n).map(|i| (i, n - i)).collect();
            sorts(&rev);
            let equal: Vec<(u32, u32)> = (0..n).map(|i| (i, 5)).collect();
            sorts(&equal);
        }
    }

    #[test]
    fn small_inputs_are_stable() {
        // Up to 16 elements it is an insertion sort, which keeps equal elements in order.
        let v: Vec<(u32, u32)> = (0..16).map(|i| (i, i % 3)).collect();
        let mut sorted = v.clone();
        std_sort(&mut sorted, |a, b| a.1 < b.1);
        let mut stable = v;
        stable.sort_by_key(|x| x.1);
        assert_eq!(sorted, stable);
    }

    #[test]
    fn heapsort_path() {
        // A depth limit of 0 goes straight to the heapsort.
        let mut v: Vec<(u32, u32)> = (0..40).map(|i| (i, (i * 31) % 9)).collect();
        let n = v.len();
        introsort_loop(&mut v, 0, n, 0, |a: &(u32, u32), b: &(u32, u32)| a.1 < b.1);
        assert!(v.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
