//! Compiles `chorus/v1/*.proto` with protox (pure Rust: no `protoc` needed)
//! into Rust types, the tonic server and client, and the encoded descriptor
//! set that server reflection serves.

use std::path::PathBuf;

use prost::Message as _;

const PROTOS: &[&str] = &["chorus/v1/mpc.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=chorus");
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("chorus_v1_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
