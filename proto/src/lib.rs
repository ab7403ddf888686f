//! The Lodestone wire protocol, package `lodestone.v1`: the protobuf definitions in
//! `proto/lodestone/v1/` and the Rust types and tonic service code generated from them at
//! build time.
//!
//! This crate knows nothing of storage: converting to engine types is the server's job, in one
//! module, so that protobuf types never enter the engine. Besides the generated code it adds
//! only short constructors (`SeriesKey::new`, `Point::new`, `WriteRequest::add`,
//! `AggregateRequest::new`, `LabelMatcher::equal`, ...).

mod constructors;

/// Generated types and service code of package `lodestone.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/lodestone.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every `lodestone.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/lodestone_descriptor.bin"));

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::v1::{point, Point, SeriesKey, SeriesPoints, WriteRequest};
    use prost::Message;

    #[test]
    fn a_write_request_round_trips_through_the_wire_format_bit_exact() {
        let nan = f64::from_bits(0x7ff8_0000_dead_beef);
        let req = WriteRequest {
            sequence: 7,
            series: vec![SeriesPoints {
                series: Some(SeriesKey {
                    name: "flow".into(),
                    labels: vec![],
                }),
                points: vec![
                    Point {
                        ts_ns: -1,
                        value: Some(point::Value::F64(nan)),
                        quality: 0x8000_0000,
                    },
                    Point {
                        ts_ns: i64::MAX,
                        value: Some(point::Value::F64(-0.0)),
                        quality: 0,
                    },
                    Point {
                        ts_ns: 0,
                        value: Some(point::Value::I64(i64::MIN)),
                        quality: 0,
                    },
                ],
            }],
        };
        let bytes = req.encode_to_vec();
        let back = WriteRequest::decode(bytes.as_slice()).unwrap();
        let bits = |p: &Point| match p.value {
            Some(point::Value::F64(v)) => v.to_bits(),
            Some(point::Value::I64(v)) => v as u64,
            _ => 0,
        };
        let (a, b) = (&req.series[0].points, &back.series[0].points);
        assert_eq!(
            a.iter().map(bits).collect::<Vec<_>>(),
            b.iter().map(bits).collect::<Vec<_>>()
        );
        assert_eq!(back.sequence, 7);
        assert_eq!(b[0].quality, 0x8000_0000);
    }

    #[test]
    fn the_descriptor_set_describes_the_service_for_reflection() {
        let set = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap();
        let service = set
            .file
            .iter()
            .filter(|f| f.package() == "lodestone.v1")
            .flat_map(|f| &f.service)
            .find(|s| s.name() == "Lodestone")
            .unwrap();
        let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
        for m in [
            "Write",
            "WriteStream",
            "Query",
            "Latest",
            "ListSeries",
            "Flush",
            "Stats",
            "Delete",
            "GetSeriesMetadata",
            "PutSeriesMetadata",
            "Aggregate",
        ] {
            assert!(methods.contains(&m), "{m} missing from {methods:?}");
        }
    }

    #[test]
    fn garbage_bytes_are_a_decode_error_not_a_panic() {
        assert!(WriteRequest::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f][..]).is_err());
    }
}
