//! Generates the Rust types and tonic service code for `lodestone/v1/*.proto` with `protox`,
//! a protobuf compiler written in Rust, so building needs no `protoc` on the machine. The
//! encoded descriptor set is kept too, for gRPC server reflection.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "lodestone/v1/types.proto",
        "lodestone/v1/lodestone.proto",
        "lodestone/v1/cluster.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("lodestone_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
