//! Every response a client can get from the filter itself, built here and
//! nowhere else: RFC 6750 challenges, APIM's subscription-key answers, the
//! RFC 9728 document, the replies prepared when the configuration loads,
//! and the filter's own failures (400, 413, 500, 503).

pub mod apim;
pub mod challenge;
pub mod failures;
pub mod metadata;
pub mod prepared;
mod response;

pub use response::{Response, WireHeaders};
