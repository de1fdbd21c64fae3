//! Device selection: loading the driver, picking a GPU, creating its context and stream, and
//! compiling and loading every kernel module for its architecture.

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaStream};

use crate::error::{Ctx, Error, Result};
use crate::kernels::{arch_for, compile, MODULES};

/// An opened GPU: its context, the stream every kernel runs on, and the loaded kernels.
pub struct Gpu {
    /// The device's (primary) context.
    pub ctx: Arc<CudaContext>,
    /// The stream all work is queued on (one stream: launches run in order).
    pub stream: Arc<CudaStream>,
    /// The device's name, e.g. "NVIDIA H200".
    pub name: String,
    /// Compute capability.
    pub capability: (i32, i32),
    functions: HashMap<&'static str, CudaFunction>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("name", &self.name)
            .field("capability", &self.capability)
            .finish()
    }
}

/// Number of CUDA devices, or why there are none. Never panics.
pub fn device_count() -> Result<usize> {
    if !crate::driver_available() {
        return Err(Error::NoDriver);
    }
    match CudaContext::device_count() {
        Ok(n) if n > 0 => Ok(n as usize),
        Ok(_) => Err(Error::NoDevice {
            ordinal: None,
            reason: "the CUDA driver reports no devices".into(),
        }),
        Err(e) => Err(Error::NoDevice {
            ordinal: None,
            reason: format!("the CUDA driver cannot be initialised ({e:?})"),
        }),
    }
}

impl Gpu {
    /// Opens GPU `ordinal` and compiles the kernels for it. Clear errors (never a panic) when there
    /// is no driver, no NVRTC or no such device.
    pub fn open(ordinal: usize) -> Result<Gpu> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(Error::NoDevice {
                ordinal: Some(ordinal),
                reason: format!("this machine has {count} CUDA device(s), numbered from 0"),
            });
        }
        if !crate::nvrtc_available() {
            return Err(Error::NoNvrtc);
        }
        let ctx = CudaContext::new(ordinal).ctx("creating the CUDA context")?;
        let capability = ctx.compute_capability().ctx("reading the compute capability")?;
        let name = ctx.name().unwrap_or_else(|_| format!("cuda:{ordinal}"));
        let arch = arch_for(capability.0, capability.1);
        let mut functions = HashMap::new();
        for m in MODULES {
            let ptx = compile(m, arch)?;
            let module = ctx.load_module(ptx).ctx(&format!("loading kernel module {}", m.name))?;
            for f in m.functions {
                let func = module.load_function(f).ctx(&format!("loading kernel {f}"))?;
                functions.insert(*f, func);
            }
        }
        let stream = ctx.default_stream();
        Ok(Gpu {
            ctx,
            stream,
            name,
            capability,
            functions,
        })
    }

    /// A loaded kernel.
    pub fn function(&self, name: &str) -> Result<&CudaFunction> {
        self.functions.get(name).ok_or_else(|| Error::Unsupported {
            what: format!("unknown kernel {name}"),
        })
    }

    /// Waits for all queued work.
    pub fn sync(&self) -> Result<()> {
        self.stream.synchronize().ctx("synchronising the stream")
    }
}
