//! `--order-by`: the merged rows of a statement in [`compare`] order. Each world's rows
//! arrive already sorted (the world sorted them itself) or are sorted here ([`Held`]); a
//! k-way [`Merge`] of those sorted runs gives the rows in order, one at a time, holding one
//! row per world. Ties keep world order, then the order rows arrived in. Pure: no I/O here.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;

use super::{compare, Cell};

/// The order of `--order-by`: the column at `key` of a merged row, ascending or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub key: usize,
    pub desc: bool,
}

impl Order {
    pub fn cmp(&self, a: &[Cell], b: &[Cell]) -> Ordering {
        let o = compare(&a[self.key], &b[self.key]);
        if self.desc {
            o.reverse()
        } else {
            o
        }
    }
}

/// Two values a world sent in the wrong order: `after` came after `before`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfOrder {
    pub before: Cell,
    pub after: Cell,
}

/// Check that `rows` are in order and follow `last` (the key of the row before them).
pub fn check(order: Order, last: Option<&Cell>, rows: &[Vec<Cell>]) -> Result<(), OutOfOrder> {
    let mut prev = last;
    for row in rows {
        let key = &row[order.key];
        if let Some(p) = prev {
            let o = compare(p, key);
            if (if order.desc { o.reverse() } else { o }) == Ordering::Greater {
                return Err(OutOfOrder {
                    before: p.clone(),
                    after: key.clone(),
                });
            }
        }
        prev = Some(key);
    }
    Ok(())
}

/// The next row of one run, waiting in the heap.
struct Head {
    row: Vec<Cell>,
    run: usize,
    order: Order,
}

impl Head {
    fn order(&self, other: &Head) -> Ordering {
        self.order
            .cmp(&self.row, &other.row)
            .then(self.run.cmp(&other.run))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.order(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed: the heap is a max-heap and must give the first row first.
    fn cmp(&self, other: &Head) -> Ordering {
        other.order(self)
    }
}

/// A k-way merge of sorted runs (one per world, numbered in world order). Feed each run's
/// first row with [`Merge::push`]; [`Merge::pop`] gives the first row of all and its run,
/// whose next row is then pushed. Equal rows come in run order, so a run's rows keep their
/// order.
pub struct Merge {
    order: Order,
    heap: BinaryHeap<Head>,
}

impl Merge {
    pub fn new(order: Order) -> Merge {
        Merge {
            order,
            heap: BinaryHeap::new(),
        }
    }

    /// The next row of run `run` (at most one per run waits at a time).
    pub fn push(&mut self, run: usize, row: Vec<Cell>) {
        self.heap.push(Head {
            row,
            run,
            order: self.order,
        });
    }

    pub fn pop(&mut self) -> Option<(usize, Vec<Cell>)> {
        self.heap.pop().map(|h| (h.run, h.row))
    }
}

/// More rows than [`Held`] takes without a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany(pub usize);

impl fmt::Display for TooMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the result has more than {} rows, more than --order-by holds in memory for a \
             statement the worlds cannot sort themselves (one that is not a plain SELECT or \
             WITH query, or whose columns share a name); add --limit, or name the columns apart",
            self.0
        )
    }
}

/// The rows of a world that did not sort them itself, sorted here: with a limit only the
/// best `limit` rows are kept (sorted and cut now and then); without one, up to a cap
/// shared by every [`Held`] of a statement.
pub struct Held {
    order: Order,
    limit: Option<usize>,
    rows: Vec<Vec<Cell>>,
}

impl Held {
    pub fn new(order: Order, limit: Option<usize>) -> Held {
        Held {
            order,
            limit,
            rows: Vec::new(),
        }
    }

    /// Take a row; `held` counts the rows every [`Held`] of the statement holds and must
    /// stay within `cap` when there is no limit.
    pub fn push(&mut self, row: Vec<Cell>, held: &mut usize, cap: usize) -> Result<(), TooMany> {
        match self.limit {
            Some(n) => {
                self.rows.push(row);
                // Keep at most twice the limit: sort and cut now and then.
                if self.rows.len() >= 2 * n.max(1024) {
                    self.sort_and_cut();
                }
            }
            None => {
                if *held >= cap {
                    return Err(TooMany(cap));
                }
                *held += 1;
                self.rows.push(row);
            }
        }
        Ok(())
    }

    fn sort_and_cut(&mut self) {
        let order = self.order;
        // Stable: equal rows keep the order they arrived in.
        self.rows.sort_by(|a, b| order.cmp(a, b));
        if let Some(n) = self.limit {
            self.rows.truncate(n);
        }
    }

    /// The rows in order.
    pub fn finish(mut self) -> Vec<Vec<Cell>> {
        self.sort_and_cut();
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(world: &str, n: i64) -> Vec<Cell> {
        vec![Cell::Text(world.to_string()), Cell::Int(n)]
    }

    /// Merge sorted runs completely, the way the query command drives a [`Merge`].
    fn merge_all(order: Order, runs: Vec<Vec<Vec<Cell>>>) -> Vec<Vec<Cell>> {
        let mut iters: Vec<_> = runs.into_iter().map(|r| r.into_iter()).collect();
        let mut m = Merge::new(order);
        for (i, it) in iters.iter_mut().enumerate() {
            if let Some(r) = it.next() {
                m.push(i, r);
            }
        }
        let mut out = Vec::new();
        while let Some((i, r)) = m.pop() {
            out.push(r);
            if let Some(next) = iters[i].next() {
                m.push(i, next);
            }
        }
        out
    }

    #[test]
    fn sorted_runs_merge_in_order_ties_in_world_then_arrival_order() {
        let order = Order {
            key: 1,
            desc: false,
        };
        let runs = vec![
            vec![row("a", 1), row("a", 3), row("a", 3), row("a", 9)],
            vec![row("b", 0), row("b", 3), row("b", 10)],
            vec![],
            vec![row("d", 3)],
        ];
        // The same as a stable sort of the runs one after another.
        let mut want: Vec<Vec<Cell>> = runs.concat();
        want.sort_by(|a, b| order.cmp(a, b));
        let got = merge_all(order, runs);
        assert_eq!(got, want);
        let worlds: String = got
            .iter()
            .map(|r| r[0].display())
            .collect::<Vec<_>>()
            .join("");
        assert_eq!(worlds, "baaabdab");
        // Arrival order within a world among ties: mark the two a/3 rows.
        let runs = vec![
            vec![
                vec![Cell::Text("a1".into()), Cell::Int(3)],
                vec![Cell::Text("a2".into()), Cell::Int(3)],
            ],
            vec![vec![Cell::Text("b".into()), Cell::Int(3)]],
        ];
        let got = merge_all(order, runs);
        let tags: Vec<String> = got.iter().map(|r| r[0].display()).collect();
        assert_eq!(tags, ["a1", "a2", "b"]);
    }

    #[test]
    fn descending_runs_merge_with_nulls_last() {
        let order = Order { key: 1, desc: true };
        let runs = vec![
            vec![
                vec![Cell::Text("a".into()), Cell::Decimal("1e20".into())],
                vec![Cell::Text("a".into()), Cell::Int(5)],
                vec![Cell::Text("a".into()), Cell::Null],
            ],
            vec![
                vec![Cell::Text("b".into()), Cell::Text("x".into())],
                vec![Cell::Text("b".into()), Cell::Decimal("5.0".into())],
                vec![Cell::Text("b".into()), Cell::Null],
            ],
        ];
        for r in &runs {
            assert_eq!(check(order, None, r), Ok(()));
        }
        let got: Vec<String> = merge_all(order, runs)
            .iter()
            .map(|r| format!("{}:{}", r[0].display(), r[1].display()))
            .collect();
        assert_eq!(
            got,
            ["b:x", "a:1e20", "a:5", "b:5.0", "a:NULL", "b:NULL"],
            "5 and 5.0 are equal: world order"
        );
    }

    #[test]
    fn a_run_out_of_order_is_caught_across_batches() {
        let asc = Order {
            key: 1,
            desc: false,
        };
        assert_eq!(
            check(asc, None, &[row("a", 1), row("a", 1), row("a", 2)]),
            Ok(())
        );
        assert_eq!(
            check(asc, None, &[row("a", 1), row("a", 3), row("a", 2)]),
            Err(OutOfOrder {
                before: Cell::Int(3),
                after: Cell::Int(2)
            })
        );
        // The last key of the batch before.
        assert_eq!(
            check(asc, Some(&Cell::Int(5)), &[row("a", 4)]),
            Err(OutOfOrder {
                before: Cell::Int(5),
                after: Cell::Int(4)
            })
        );
        let desc = Order { key: 1, desc: true };
        assert_eq!(check(desc, Some(&Cell::Int(5)), &[row("a", 4)]), Ok(()));
        assert!(check(desc, None, &[row("a", 4), row("a", 5)]).is_err());
        // Text that looks like numbers is sorted as text: "10" before "9".
        let text = |s: &str| vec![Cell::Text("a".into()), Cell::Text(s.into())];
        assert_eq!(check(asc, None, &[text("10"), text("9")]), Ok(()));
        assert!(check(asc, None, &[text("9"), text("10")]).is_err());
    }

    #[test]
    fn held_rows_keep_the_best_limit_or_refuse_beyond_the_cap() {
        let order = Order { key: 1, desc: true };
        let mut held = Held::new(order, Some(3));
        let mut count = 0;
        for i in 0..5000 {
            held.push(row("h", (i * 7919) % 5000), &mut count, 10)
                .unwrap();
        }
        assert_eq!(count, 0, "a limit needs no cap");
        assert_eq!(
            held.finish(),
            vec![row("h", 4999), row("h", 4998), row("h", 4997)]
        );
        // Without a limit, the cap counts the rows of every world of the statement.
        let (mut a, mut b) = (Held::new(order, None), Held::new(order, None));
        let mut count = 0;
        for i in 0..5 {
            a.push(row("a", i), &mut count, 10).unwrap();
            b.push(row("b", i), &mut count, 10).unwrap();
        }
        assert_eq!(a.push(row("a", 9), &mut count, 10), Err(TooMany(10)));
        assert!(TooMany(10).to_string().contains("more than 10 rows"));
        assert_eq!(
            b.finish().iter().map(|r| r[1].clone()).collect::<Vec<_>>(),
            (0..5).rev().map(Cell::Int).collect::<Vec<_>>()
        );
    }

    fn key() -> impl Strategy<Value = Cell> {
        prop_oneof![
            Just(Cell::Null),
            (-3i64..3).prop_map(Cell::Int),
            "-?[0-2](\\.[05])?(e[01])?".prop_map(Cell::Decimal),
            "[ab ]{0,2}".prop_map(Cell::Text),
            prop::collection::vec(0u8..2, 0..2).prop_map(Cell::Bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Merging runs that are each sorted gives what a stable sort of all of them, one
        /// run after another, gives: ties in run order, then arrival order.
        #[test]
        fn prop_merge_is_a_stable_sort_of_the_runs(
            keys in prop::collection::vec(prop::collection::vec(key(), 0..12), 0..5),
            desc in any::<bool>(),
        ) {
            let order = Order { key: 1, desc };
            let runs: Vec<Vec<Vec<Cell>>> = keys
                .into_iter()
                .enumerate()
                .map(|(r, ks)| {
                    let mut run: Vec<Vec<Cell>> = ks
                        .into_iter()
                        .enumerate()
                        .map(|(i, k)| vec![Cell::Text(format!("{r}.{i:02}")), k])
                        .collect();
                    run.sort_by(|a, b| order.cmp(a, b));
                    run
                })
                .collect();
            for run in &runs {
                prop_assert_eq!(check(order, None, run), Ok(()));
            }
            let mut want: Vec<Vec<Cell>> = runs.concat();
            want.sort_by(|a, b| order.cmp(a, b));
            prop_assert_eq!(merge_all(order, runs), want);
        }
    }
}
