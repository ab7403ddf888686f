//! Runs statements against the engine. Everything here blocks (engine reads decode chunks),
//! so the HTTP handler calls it on tokio's blocking pool. Series are read in parallel on a
//! few scoped threads when a statement reads more than one; each distinct series is read
//! once however many columns use it.

use std::sync::atomic::{AtomicUsize, Ordering};

use lodestone_engine::{Engine, Error, Matcher, Pattern, Point, Selector, SeriesInfo};

use super::ast::{Select, Source, Statement};
use super::plan::plan;
use super::result::{Rows, StatementResult, Table};
use super::{select_agg, select_raw, show};

/// The name `SHOW DATABASES` gives for the one database Lodestone keeps.
pub const DATABASE_NAME: &str = "lodestone";

/// Most threads one statement reads with.
const MAX_READ_THREADS: usize = 8;

/// Runs `statements` in order, with `now` as `now()` for all of them. As in InfluxDB, the
/// first failing statement stops the rest, which answer `not executed`.
pub fn run(engine: &Engine, statements: &[Statement], now: i64) -> Vec<StatementResult> {
    let mut out = Vec::with_capacity(statements.len());
    let mut failed = false;
    for s in statements {
        if failed {
            out.push(Err("not executed".to_string()));
            continue;
        }
        let r = statement(engine, s, now);
        failed = r.is_err();
        out.push(r);
    }
    out
}

fn statement(engine: &Engine, s: &Statement, now: i64) -> StatementResult {
    match s {
        Statement::Select(sel) => select(engine, sel, now),
        Statement::CreateDatabase(_) => Ok(Vec::new()),
        Statement::ShowDatabases => Ok(vec![names_table(
            "databases",
            vec![DATABASE_NAME.to_string()],
        )]),
        Statement::ShowMeasurements { limit, offset } => {
            let mut names: Vec<String> = engine
                .list_series()
                .into_iter()
                .map(|i| i.key.name().to_string())
                .collect();
            names.dedup();
            let mut rows = Rows::Names(names);
            rows.window(*offset, *limit);
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let mut t = names_table("measurements", Vec::new());
            t.rows = rows;
            Ok(vec![t])
        }
        Statement::ShowSchema {
            what,
            sources,
            limit,
            offset,
        } => show::schema(engine, what, sources, *limit, *offset),
    }
}

fn names_table(name: &str, names: Vec<String>) -> Table {
    Table {
        name: name.to_string(),
        tags: Vec::new(),
        columns: vec!["name".to_string()],
        rows: Rows::Names(names),
    }
}

fn select(engine: &Engine, s: &Select, now: i64) -> StatementResult {
    let catalog = candidates(engine, s, now)?;
    let plan = plan(s, &catalog, now)?;
    if plan.start >= plan.end || plan.groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut tables = if plan.aggregate {
        select_agg::run(engine, &plan, &catalog)?
    } else {
        select_raw::run(engine, &plan, &catalog)?
    };
    for t in &mut tables {
        if plan.descending {
            t.rows.reverse();
        }
        t.rows.window(plan.offset, plan.limit);
    }
    tables.retain(|t| !t.rows.is_empty());
    Ok(tables)
}

/// The points of one series in `[start, end)`. A series that vanished since the catalog
/// snapshot reads as empty; other engine errors are logged and reported by series only.
pub fn read(
    engine: &Engine,
    info: &SeriesInfo,
    start: i64,
    end: i64,
) -> Result<Vec<Point>, String> {
    match engine.read_range(&info.key, start, end) {
        Ok(points) => Ok(points),
        Err(Error::UnknownSeries { .. }) => Ok(Vec::new()),
        Err(e) => {
            tracing::error!(series = %info.key, error = %e, "influxql read failed");
            Err(format!(
                "reading series {} failed; see the server log",
                info.key
            ))
        }
    }
}

/// The distinct catalog indexes the plan's groups read, sorted, and how many (group,
/// column) slots use each.
pub fn distinct_series(members: impl Iterator<Item = usize>) -> (Vec<usize>, Vec<usize>) {
    let mut all: Vec<usize> = members.collect();
    all.sort_unstable();
    let mut series: Vec<usize> = Vec::with_capacity(all.len());
    let mut uses: Vec<usize> = Vec::with_capacity(all.len());
    for i in all {
        if series.last() == Some(&i) {
            if let Some(u) = uses.last_mut() {
                *u += 1;
            }
        } else {
            series.push(i);
            uses.push(1);
        }
    }
    (series, uses)
}

/// Hands out per-series results to their users: moved to the last user, cloned before.
pub struct Shared<T> {
    series: Vec<usize>,
    uses: Vec<usize>,
    data: Vec<Option<T>>,
}

impl<T: Clone> Shared<T> {
    /// Results `data[k]` of series `series[k]`, each used `uses[k]` times.
    pub fn new(series: Vec<usize>, uses: Vec<usize>, data: Vec<T>) -> Shared<T> {
        Shared {
            series,
            uses,
            data: data.into_iter().map(Some).collect(),
        }
    }

    /// The result of catalog series `i`, for one of its users.
    pub fn take(&mut self, i: usize) -> Option<T> {
        let k = self.series.binary_search(&i).ok()?;
        self.uses[k] = self.uses[k].saturating_sub(1);
        if self.uses[k] == 0 {
            self.data[k].take()
        } else {
            self.data[k].clone()
        }
    }
}

/// Maps `f` over `items` on up to [`MAX_READ_THREADS`] scoped threads (as many as the
/// machine has cores), keeping the order. One item runs on the calling thread.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .min(MAX_READ_THREADS);
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            match w.join() {
                Ok(done) => done.into_iter().for_each(|(i, r)| slots[i] = Some(r)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

/// The series a select may read, sorted by key, found through the series index: for each
/// measurement it names and each field it reads, the series of that name (`m`, or `m.field`;
/// any series for a `/regex/` source) that meet the `tag = 'value'` conditions its WHERE joins
/// by AND. The plan narrows them further; a query about one tag of a million reads one
/// catalog entry, not a million.
fn candidates(engine: &Engine, s: &Select, now: i64) -> Result<Vec<SeriesInfo>, String> {
    let tags = match &s.condition {
        Some(c) => super::cond::time_range_and_tags(c, now)?.2,
        None => None,
    };
    let labels: Vec<(String, Matcher)> = tags
        .as_ref()
        .map(|t| t.required_equalities())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Matcher::Equal(v.to_string())))
        .collect();
    let mut names = Vec::new();
    let (columns, _) = super::plan::columns(&s.fields)?;
    for src in &s.sources {
        let Source::Name(m) = src else {
            if labels.is_empty() {
                return Ok(engine.list_series_page(None, None, usize::MAX));
            }
            let any = Matcher::Matches(Pattern::new(".*").map_err(|e| e.to_string())?);
            let selector = Selector { name: any, labels };
            return Ok(engine.list_series_page(Some(&selector), None, usize::MAX));
        };
        names.extend(
            columns
                .iter()
                .map(|c| super::plan::series_name(m, &c.field)),
        );
    }
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let selector = Selector {
            name: Matcher::Equal(name),
            labels: labels.clone(),
        };
        out.extend(engine.list_series_page(Some(&selector), None, usize::MAX));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u64> = (0..100).collect();
        assert_eq!(
            parallel_map(&items, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(parallel_map(&[] as &[u64], |x| *x).is_empty());
    }

    #[test]
    fn shared_results_are_moved_to_their_last_user() {
        let (series, uses) = distinct_series([5, 3, 5].into_iter());
        assert_eq!(series, vec![3, 5]);
        assert_eq!(uses, vec![1, 2]);
        let mut s = Shared::new(series, uses, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(s.take(5).as_deref(), Some("b"));
        assert_eq!(s.take(5).as_deref(), Some("b"));
        assert_eq!(s.take(5), None);
        assert_eq!(s.take(3).as_deref(), Some("a"));
        assert_eq!(s.take(4), None);
    }
}
