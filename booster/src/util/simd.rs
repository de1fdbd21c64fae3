//! Run-time SIMD dispatch: a kernel written once as a plain loop is compiled three times — for
//! AVX-512, for AVX2 and for the x86-64 baseline — and the widest variant the processor has runs.
//! Every variant computes the same bits (the kernels use no fused multiply-add and no reassociation;
//! only the instruction width changes), so results never depend on the machine.
//!
//! [`simd_dispatch!`] writes the dispatching function, the target-feature variants and their
//! `SAFETY` argument once for all kernels.

/// An instruction set a kernel can be compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The x86-64 baseline (SSE2), or any other architecture.
    Baseline,
    /// AVX2 (named by the tests that run the AVX2 variant; dispatch reaches it by falling back).
    #[cfg_attr(not(test), allow(dead_code))]
    Avx2,
    /// AVX-512 with the listed extensions.
    Avx512,
}

#[cfg(test)]
impl Isa {
    /// Every instruction set the processor has (the baseline first), for tests that compare the
    /// variants; `avx512` lists the features the AVX-512 variant needs.
    pub(crate) fn available(avx512: &[&str]) -> Vec<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            let has = |f: &str| match f {
                "avx2" => std::arch::is_x86_feature_detected!("avx2"),
                "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
                "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
                _ => false,
            };
            let mut out = vec![Isa::Baseline];
            if has("avx2") {
                out.push(Isa::Avx2);
            }
            if avx512.iter().all(|f| has(f)) {
                out.push(Isa::Avx512);
            }
            out
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = avx512;
            vec![Isa::Baseline]
        }
    }
}

/// Defines a kernel dispatched at run time to the widest instruction set the processor has.
///
/// ```ignore
/// simd_dispatch! {
///     /// Docs of the dispatching function.
///     pub(crate) fn exp_in_place, at exp_in_place_at(values: &mut [f64]) = exp_loop;
///     avx512 needs ["avx512f"]
/// }
/// ```
/// defines `exp_in_place(values)`, which runs `exp_loop(values)` compiled for AVX-512 (when the
/// processor has every listed feature), else for AVX2, else for the baseline (the checks are
/// `is_x86_feature_detected!`, a cached flag read); and
/// `exp_in_place_at(isa, values)`, which runs the variant for `isa` when the processor has it (the
/// next narrower one otherwise) — for tests that compare the variants. The kernel must be
/// `#[inline(always)]` so that each variant compiles its own copy. Generic parameters go in brackets
/// after the name: `fn plain_gains[C: HistCell], at plain_gains_at(...)`.
macro_rules! simd_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $([$($gp:tt)*])?, at $at:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? = $kernel:path;
        avx512 needs [$($feat:tt),+ $(,)?]
    ) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name $(<$($gp)*>)? ( $($arg: $ty),* ) $(-> $ret)? {
            $at($crate::util::simd::Isa::Avx512, $($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] compiled for `isa` when the processor has it, else for the next narrower instruction set.")]
        $vis fn $at $(<$($gp)*>)? (isa: $crate::util::simd::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::util::simd::Isa;
                $(#[target_feature(enable = $feat)])+
                unsafe fn avx512 $(<$($gp)*>)? ( $($arg: $ty),* ) $(-> $ret)? {
                    $kernel($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2 $(<$($gp)*>)? ( $($arg: $ty),* ) $(-> $ret)? {
                    $kernel($($arg),*)
                }
                if isa == Isa::Avx512 $(&& std::arch::is_x86_feature_detected!($feat))+ {
                    // SAFETY: the processor has every feature `avx512` is compiled for (checked
                    // on this line).
                    return unsafe { avx512($($arg),*) };
                }
                if isa != Isa::Baseline && std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2 (checked on this line).
                    return unsafe { avx2($($arg),*) };
                }
            }
            let _ = isa;
            $kernel($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;
