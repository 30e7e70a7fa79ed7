//! Compiles the .proto contracts with the protoc shipped by `protoc-bin-vendored`, so no
//! system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; the variable is read by prost-build below.
    unsafe { std::env::set_var("PROTOC", protoc) };
    tonic_prost_build::configure().compile_protos(
        &["proto/inventory.proto", "proto/payment.proto"],
        &["proto"],
    )?;
    Ok(())
}
