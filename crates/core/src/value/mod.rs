//! Values as Compose and the engine read them, in one place: interpolated strings
//! ([`Interpolated`]), image references ([`ImageRef`]), durations ([`parse_duration`],
//! [`compose_duration`]) and the rule saying which variable names hold secrets
//! ([`is_secret_name`]).
//!
//! The renderer writes with these, the engine driver resolves with them, and `check`,
//! `lint` and `import` read with them: a `${VAR:-default}` or an `image:tag` means the
//! same thing everywhere.

mod duration;
mod image;
mod interpolated;
mod secret;

pub use duration::{compose_duration, parse_duration};
pub use image::ImageRef;
pub use interpolated::{
    escape, fits_in_argument, Interpolated, InterpolationError, MissingVariable, Modifier,
    Operator, Part, Variable,
};
pub use secret::is_secret_name;

#[cfg(test)]
mod tests;
