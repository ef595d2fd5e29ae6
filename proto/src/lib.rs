//! chorus's gRPC contract: the messages of `proto/chorus/v1/*.proto` as
//! Rust types, with the tonic server (for chorusd) and client (for
//! `chorusctl` and tests) of the `chorus.v1.MultiPartyCalls` service.
//!
//! The `.proto` files are the public interface; this crate is generated
//! from them at build time by protox (no `protoc`), so it never drifts.
//! [`v1::FILE_DESCRIPTOR_SET`] is what server reflection serves.

/// `package chorus.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("chorus.v1");

    /// The encoded `FileDescriptorSet` of every `chorus.v1` file (and the
    /// well-known types they import), for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("chorus_v1_descriptor");
}
