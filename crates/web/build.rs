//! Rebuilds the crate when a file of the default theme changes or is added: the theme is embedded
//! with `include_dir`, which tracks the files it saw, not the folder.

fn main() {
    println!("cargo:rerun-if-changed=../../themes/default");
}
