//! Lodestone client (placeholder until the server work lands).
