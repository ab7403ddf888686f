//! What a statement answers: result series (InfluxDB calls each a "series": a name, tags,
//! columns and rows), kept in forms that need no per-row allocation.

use lodestone_engine::{Point, Value};

/// One statement's answer: result series, or the statement's error message.
pub type StatementResult = Result<Vec<Table>, String>;

/// One result series.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The measurement (or `databases`, `measurements` for SHOW statements).
    pub name: String,
    /// The `GROUP BY` tags; empty (and left out of the JSON) without tag grouping.
    pub tags: Vec<(String, String)>,
    /// Column headings, `time` first for time rows.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Rows,
}

/// The rows of a result series.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// Raw points of one field: `[time, value]` rows, straight from the engine.
    Points(Vec<Point>),
    /// `[time, cell, cell, ...]` rows: `times[r]`, then `cells[r * width .. (r + 1) * width]`.
    Grid {
        /// Row times.
        times: Vec<i64>,
        /// Cells, row after row; `None` prints as `null`.
        cells: Vec<Option<Value>>,
    },
    /// One text column (SHOW statements).
    Names(Vec<String>),
    /// Two text columns (`SHOW TAG VALUES`, `SHOW FIELD KEYS`).
    Pairs(Vec<(String, String)>),
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Points(p) => p.len(),
            Rows::Grid { times, .. } => times.len(),
            Rows::Names(n) => n.len(),
            Rows::Pairs(p) => p.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Newest first.
    pub fn reverse(&mut self) {
        match self {
            Rows::Points(p) => p.reverse(),
            Rows::Grid { times, cells } => {
                let width = cells.len().checked_div(times.len()).unwrap_or(0);
                times.reverse();
                cells.reverse();
                // Reversing all cells also reversed each row's cells: put them back.
                if width > 1 {
                    cells.chunks_mut(width).for_each(<[_]>::reverse);
                }
            }
            Rows::Names(n) => n.reverse(),
            Rows::Pairs(p) => p.reverse(),
        }
    }

    /// Keeps rows `offset .. offset + limit` (`limit` 0: all after `offset`).
    pub fn window(&mut self, offset: u64, limit: u64) {
        let n = self.len();
        let from = usize::try_from(offset).unwrap_or(usize::MAX).min(n);
        let to = if limit == 0 {
            n
        } else {
            from.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
                .min(n)
        };
        if from == 0 && to == n {
            return;
        }
        match self {
            Rows::Points(p) => {
                p.truncate(to);
                p.drain(..from);
            }
            Rows::Grid { times, cells } => {
                let width = cells.len().checked_div(times.len()).unwrap_or(0);
                times.truncate(to);
                times.drain(..from);
                cells.truncate(to * width);
                cells.drain(..from * width);
            }
            Rows::Names(names) => {
                names.truncate(to);
                names.drain(..from);
            }
            Rows::Pairs(pairs) => {
                pairs.truncate(to);
                pairs.drain(..from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Rows {
        Rows::Grid {
            times: vec![1, 2, 3],
            cells: (0..6).map(|i| Some(Value::I64(i))).collect(),
        }
    }

    #[test]
    fn reversing_a_grid_keeps_each_row_intact() {
        let mut g = grid();
        g.reverse();
        let Rows::Grid { times, cells } = g else {
            panic!()
        };
        assert_eq!(times, vec![3, 2, 1]);
        let cells: Vec<_> = cells.into_iter().map(Option::unwrap).collect();
        assert_eq!(
            cells,
            vec![
                Value::I64(4),
                Value::I64(5),
                Value::I64(2),
                Value::I64(3),
                Value::I64(0),
                Value::I64(1)
            ]
        );
    }

    #[test]
    fn limit_and_offset_cut_rows_not_cells() {
        let mut g = grid();
        g.window(1, 1);
        assert_eq!(
            g,
            Rows::Grid {
                times: vec![2],
                cells: vec![Some(Value::I64(2)), Some(Value::I64(3))]
            }
        );
        let mut p = Rows::Points((0..5).map(|t| Point::new(t, Value::I64(t))).collect());
        p.window(3, 0);
        assert_eq!(p.len(), 2);
        p.window(10, 1);
        assert!(p.is_empty());
    }
}
