//! What the test programs share.

/// An error and its sources, one after the other: the programs' messages
/// name the file and the operating system's reason.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s += &format!(": {c}");
        cur = c.source();
    }
    s
}
