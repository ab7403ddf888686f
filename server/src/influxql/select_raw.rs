//! Raw selects (`SELECT value FROM ...`): the points themselves. One field of one series is
//! the engine's `Vec<Point>` as it is; several series in one result series are merged by
//! time; several fields are joined on timestamps within each tag set.

use std::collections::BTreeMap;

use lodestone_engine::{Engine, Point, SeriesInfo, Value};

use super::exec::{distinct_series, parallel_map, read, Shared};
use super::plan::{Group, Plan};
use super::result::{Rows, Table};

/// The result series of a raw select.
pub fn run(engine: &Engine, plan: &Plan, catalog: &[SeriesInfo]) -> Result<Vec<Table>, String> {
    let (series, uses) = distinct_series(
        plan.groups
            .iter()
            .flat_map(|g| g.members.iter().flatten().copied()),
    );
    let data = parallel_map(&series, |&i| {
        read(engine, &catalog[i], plan.start, plan.end)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let mut shared = Shared::new(series, uses, data);
    let mut columns = vec!["time".to_string()];
    columns.extend(plan.columns.iter().map(|c| c.name.clone()));
    let mut out = Vec::with_capacity(plan.groups.len());
    for g in &plan.groups {
        let rows = if plan.columns.len() == 1 {
            Rows::Points(merge_by_time(
                g.members[0]
                    .iter()
                    .filter_map(|&i| shared.take(i))
                    .collect(),
            ))
        } else {
            join_fields(g, catalog, &mut shared, plan.columns.len())
        };
        out.push(Table {
            name: g.measurement.clone(),
            tags: g.tags.clone(),
            columns: columns.clone(),
            rows,
        });
    }
    Ok(out)
}

/// Points of several series as one time-ordered list (stable: equal times keep series order).
fn merge_by_time(mut parts: Vec<Vec<Point>>) -> Vec<Point> {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut all: Vec<Point> = parts.concat();
    all.sort_by_key(|p| p.ts);
    all
}

/// Several fields: within each tag set, one row per timestamp with each field's value or
/// null; tag sets merged by time.
fn join_fields(
    g: &Group,
    catalog: &[SeriesInfo],
    shared: &mut Shared<Vec<Point>>,
    width: usize,
) -> Rows {
    // Tag set (the series' labels) → (column, points) of each field.
    type Columns = Vec<(usize, Vec<Point>)>;
    let mut sets: BTreeMap<Vec<(&str, &str)>, Columns> = BTreeMap::new();
    for (col, members) in g.members.iter().enumerate() {
        for &i in members {
            if let Some(points) = shared.take(i) {
                sets.entry(catalog[i].key.labels().collect())
                    .or_default()
                    .push((col, points));
            }
        }
    }
    let mut grids: Vec<(Vec<i64>, Vec<Option<Value>>)> =
        sets.into_values().map(|cols| join(&cols, width)).collect();
    if grids.len() == 1 {
        let (times, cells) = grids.remove(0);
        return Rows::Grid { times, cells };
    }
    // (time, grid, row), ordered by time and stable across grids.
    let mut order: Vec<(i64, usize, usize)> = grids
        .iter()
        .enumerate()
        .flat_map(|(gi, (times, _))| times.iter().enumerate().map(move |(r, &t)| (t, gi, r)))
        .collect();
    order.sort_by_key(|&(t, _, _)| t);
    let mut times = Vec::with_capacity(order.len());
    let mut cells = Vec::with_capacity(order.len() * width);
    for (t, gi, r) in order {
        times.push(t);
        cells.extend_from_slice(&grids[gi].1[r * width..(r + 1) * width]);
    }
    Rows::Grid { times, cells }
}

/// Joins the columns of one tag set on timestamps (each column's points are time-ordered).
fn join(cols: &[(usize, Vec<Point>)], width: usize) -> (Vec<i64>, Vec<Option<Value>>) {
    let mut at = vec![0usize; cols.len()];
    let mut times = Vec::new();
    let mut cells = Vec::new();
    loop {
        let next = cols
            .iter()
            .zip(&at)
            .filter_map(|((_, pts), &k)| pts.get(k).map(|p| p.ts))
            .min();
        let Some(t) = next else { break };
        times.push(t);
        let row = cells.len();
        cells.resize(row + width, None);
        for ((col, pts), k) in cols.iter().zip(at.iter_mut()) {
            if let Some(p) = pts.get(*k).filter(|p| p.ts == t) {
                cells[row + col] = Some(p.value);
                *k += 1;
            }
        }
    }
    (times, cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_join_on_timestamps_with_nulls_for_gaps() {
        let a = vec![Point::new(1, Value::I64(10)), Point::new(3, Value::I64(30))];
        let b = vec![
            Point::new(2, Value::F64(0.5)),
            Point::new(3, Value::F64(1.5)),
        ];
        let (times, cells) = join(&[(0, a), (1, b)], 2);
        assert_eq!(times, vec![1, 2, 3]);
        assert_eq!(
            cells,
            vec![
                Some(Value::I64(10)),
                None,
                None,
                Some(Value::F64(0.5)),
                Some(Value::I64(30)),
                Some(Value::F64(1.5)),
            ]
        );
    }

    #[test]
    fn series_merge_by_time() {
        let a = vec![Point::new(1, Value::I64(1)), Point::new(4, Value::I64(4))];
        let b = vec![Point::new(2, Value::I64(2))];
        let ts: Vec<i64> = merge_by_time(vec![a, b]).iter().map(|p| p.ts).collect();
        assert_eq!(ts, vec![1, 2, 4]);
    }
}
