//! Lodestone protocol (placeholder until the server work lands).
