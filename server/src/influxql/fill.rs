//! `fill()`: what the empty `GROUP BY time` windows of a column show. InfluxDB's default is
//! `fill(null)`, except for `count`, whose empty windows count 0.

use lodestone_engine::Value;

use super::ast::{Fill, Literal};
use super::plan::Func;

/// Fills the empty cells (`None`) of one column, windows in time order.
pub fn apply(cells: &mut [Option<Value>], fill: Fill, func: Func) {
    match fill {
        Fill::None => {}
        Fill::Null => {
            if func == Func::Count {
                constant(cells, Value::I64(0));
            }
        }
        Fill::Number(Literal::Int(n)) => constant(cells, Value::I64(n)),
        Fill::Number(Literal::Float(f)) => constant(cells, Value::F64(f)),
        Fill::Previous => {
            let mut prev = None;
            for c in cells.iter_mut() {
                match c {
                    Some(v) => prev = Some(*v),
                    None => *c = prev,
                }
            }
        }
        Fill::Linear => linear(cells),
    }
}

fn constant(cells: &mut [Option<Value>], v: Value) {
    for c in cells.iter_mut().filter(|c| c.is_none()) {
        *c = Some(v);
    }
}

/// Interpolates each run of empty cells between two filled ones; leading and trailing runs
/// stay empty. Integers interpolate with integer arithmetic, as InfluxDB does.
fn linear(cells: &mut [Option<Value>]) {
    let mut last: Option<(usize, Value)> = None;
    for j in 0..cells.len() {
        let Some(b) = cells[j] else { continue };
        if let Some((i, a)) = last {
            for (step, cell) in cells[i + 1..j].iter_mut().enumerate() {
                *cell = between(a, b, step + 1, j - i);
            }
        }
        last = Some((j, b));
    }
}

fn between(a: Value, b: Value, step: usize, steps: usize) -> Option<Value> {
    match (a, b) {
        (Value::I64(a), Value::I64(b)) => {
            let v = i128::from(a) + (i128::from(b) - i128::from(a)) * step as i128 / steps as i128;
            i64::try_from(v).ok().map(Value::I64)
        }
        (Value::F64(a), Value::F64(b)) => {
            Some(Value::F64(a + (b - a) * (step as f64 / steps as f64)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> Option<Value> {
        Some(Value::F64(v))
    }

    fn filled(fill: Fill, func: Func) -> Vec<Option<Value>> {
        let mut cells = vec![None, f(1.0), None, None, f(4.0), None];
        apply(&mut cells, fill, func);
        cells
    }

    #[test]
    fn null_leaves_gaps_except_for_count() {
        assert_eq!(
            filled(Fill::Null, Func::Mean),
            vec![None, f(1.0), None, None, f(4.0), None]
        );
        let mut counts = vec![None, Some(Value::I64(3)), None];
        apply(&mut counts, Fill::Null, Func::Count);
        assert_eq!(
            counts,
            vec![
                Some(Value::I64(0)),
                Some(Value::I64(3)),
                Some(Value::I64(0))
            ]
        );
    }

    #[test]
    fn previous_number_and_linear_fill_as_influxdb() {
        assert_eq!(
            filled(Fill::Previous, Func::Mean),
            vec![None, f(1.0), f(1.0), f(1.0), f(4.0), f(4.0)]
        );
        let zero = Some(Value::I64(0));
        assert_eq!(
            filled(Fill::Number(Literal::Int(0)), Func::Mean),
            vec![zero, f(1.0), zero, zero, f(4.0), zero]
        );
        assert_eq!(
            filled(Fill::Linear, Func::Mean),
            vec![None, f(1.0), f(2.0), f(3.0), f(4.0), None]
        );
        let mut ints = vec![Some(Value::I64(0)), None, None, Some(Value::I64(10))];
        apply(&mut ints, Fill::Linear, Func::Max);
        assert_eq!(
            ints,
            vec![
                Some(Value::I64(0)),
                Some(Value::I64(3)),
                Some(Value::I64(6)),
                Some(Value::I64(10))
            ]
        );
        assert_eq!(filled(Fill::None, Func::Mean)[0], None);
    }
}
