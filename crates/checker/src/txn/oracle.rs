//! Property test against a brute-force serializability oracle.
