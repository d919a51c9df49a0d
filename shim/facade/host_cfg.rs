//! `cfg!` and CPU feature detection that describe the host inside a build script.
//!
//! A build script is a host program: `cfg!(target_os = "linux")` or
//! `is_x86_feature_detected!("adx")` in it are questions about the machine it runs on.
//! Compiled for wasm32-wasip1 they would describe wasm. The tool compiles a build
//! script's own crate with `--cfg __cwb_host` and the host's values under
//! `__cwb_host_<name>` (see `wrapper/src/host_cfg.rs`); these macros answer from those.
//! In every other crate (build-dependencies, which are compiled as wasm libraries) they
//! are exactly core's `cfg!`: a library's `cfg!` must agree with its `#[cfg]`s, which stay
//! wasm's (cxx-build falls back to copying headers when its WASI symlink stub fails and
//! `cfg!(not(unix))` holds; answering that `cfg!` for the host loses the headers). Each
//! answer is a `cfg!` of the calling crate, so it stays a constant usable in `const` items.
//!
//! `#[cfg]` attributes cannot be redefined; the wrapper passes the host's values of the
//! names that describe the platform as `--cfg` to the script's crate and refuses, naming
//! the attribute, a script whose attributes it cannot answer as the host would.

/// `cfg!`, answered for the host inside a build script's own crate.
#[macro_export]
macro_rules! cfg {
    // As a one-element `all`, so a trailing comma is accepted as core's `cfg!` accepts it.
    ($($predicate:tt)*) => {
        $crate::__cwb_cfg!(@all [] $($predicate)*)
    };
}

/// The predicate walker behind [`cfg!`]: `all`, `any` and `not` are split at their
/// top-level commas and combined with `&&`, `||` and `!` (all usable in constants);
/// names that describe the target are answered from the host's values in a build
/// script's crate; every other name (features, `debug_assertions`, the crate's own cfgs)
/// is core's `cfg!` unchanged.
#[doc(hidden)]
#[macro_export]
macro_rules! __cwb_cfg {
    (@pred not($($p:tt)*)) => { !$crate::__cwb_cfg!(@pred $($p)*) };
    (@pred all($($p:tt)*)) => { $crate::__cwb_cfg!(@all [] $($p)*) };
    (@pred any($($p:tt)*)) => { $crate::__cwb_cfg!(@any [] $($p)*) };
    (@pred target_arch = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_arch = $v), all(not(__cwb_host), target_arch = $v)))
    };
    (@pred target_os = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_os = $v), all(not(__cwb_host), target_os = $v)))
    };
    (@pred target_family = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_family = $v), all(not(__cwb_host), target_family = $v)))
    };
    (@pred target_env = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_env = $v), all(not(__cwb_host), target_env = $v)))
    };
    (@pred target_vendor = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_vendor = $v), all(not(__cwb_host), target_vendor = $v)))
    };
    (@pred target_abi = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_abi = $v), all(not(__cwb_host), target_abi = $v)))
    };
    (@pred target_pointer_width = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_pointer_width = $v), all(not(__cwb_host), target_pointer_width = $v)))
    };
    (@pred target_endian = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_endian = $v), all(not(__cwb_host), target_endian = $v)))
    };
    (@pred target_feature = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_feature = $v), all(not(__cwb_host), target_feature = $v)))
    };
    (@pred target_has_atomic = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_has_atomic = $v), all(not(__cwb_host), target_has_atomic = $v)))
    };
    (@pred target_has_atomic_load_store = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_has_atomic_load_store = $v), all(not(__cwb_host), target_has_atomic_load_store = $v)))
    };
    (@pred target_has_atomic_equal_alignment = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_has_atomic_equal_alignment = $v), all(not(__cwb_host), target_has_atomic_equal_alignment = $v)))
    };
    (@pred panic = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_panic = $v), all(not(__cwb_host), panic = $v)))
    };
    (@pred relocation_model = $v:literal) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_relocation_model = $v), all(not(__cwb_host), relocation_model = $v)))
    };
    (@pred unix) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_unix), all(not(__cwb_host), unix)))
    };
    (@pred windows) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_windows), all(not(__cwb_host), windows)))
    };
    (@pred target_thread_local) => {
        ::core::cfg!(any(all(__cwb_host, __cwb_host_target_thread_local), all(not(__cwb_host), target_thread_local)))
    };
    (@pred $($p:tt)*) => { ::core::cfg!($($p)*) };
    (@all [$($cur:tt)*] , $($rest:tt)*) => {
        $crate::__cwb_cfg!(@pred $($cur)*) && $crate::__cwb_cfg!(@all [] $($rest)*)
    };
    (@all [$($cur:tt)*] $t:tt $($rest:tt)*) => { $crate::__cwb_cfg!(@all [$($cur)* $t] $($rest)*) };
    (@all []) => { true };
    (@all [$($cur:tt)+]) => { $crate::__cwb_cfg!(@pred $($cur)+) };
    (@any [$($cur:tt)*] , $($rest:tt)*) => {
        $crate::__cwb_cfg!(@pred $($cur)*) || $crate::__cwb_cfg!(@any [] $($rest)*)
    };
    (@any [$($cur:tt)*] $t:tt $($rest:tt)*) => { $crate::__cwb_cfg!(@any [$($cur)* $t] $($rest)*) };
    (@any []) => { false };
    (@any [$($cur:tt)+]) => { $crate::__cwb_cfg!(@pred $($cur)+) };
}

/// `is_x86_feature_detected!`: whether the host's CPU has the feature, as the wrapper
/// detected it when it compiled the script (`__cwb_host_cpu_feature`). wasm32-wasip1's
/// std has no such macro; outside a build script's crate the answer is `false`.
#[macro_export]
macro_rules! is_x86_feature_detected {
    ($feature:tt) => {
        ::core::cfg!(all(__cwb_host, __cwb_host_cpu_feature = $feature))
    };
    ($feature:tt,) => {
        $crate::is_x86_feature_detected!($feature)
    };
}

/// `is_aarch64_feature_detected!`, as [`is_x86_feature_detected!`].
#[macro_export]
macro_rules! is_aarch64_feature_detected {
    ($feature:tt) => {
        ::core::cfg!(all(__cwb_host, __cwb_host_cpu_feature = $feature))
    };
    ($feature:tt,) => {
        $crate::is_aarch64_feature_detected!($feature)
    };
}
