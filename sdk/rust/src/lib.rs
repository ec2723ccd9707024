//! Write grpo reward plugins in Rust, compiled to WebAssembly (grpo-wasm ABI v1, sdk/ABI.md).
//!
//! The plugin author writes one function over the batch and names it with [`reward_plugin!`],
//! which defines the ABI exports (`grpo_abi_version`, `grpo_alloc`, `grpo_free`, `grpo_reward`,
//! `grpo_describe`, and `grpo_configure` when a configure function is given):
//!
//! ```ignore
//! use grpo_sdk::{Batch, Output};
//! fn score(b: &Batch) -> Output {
//!     Output::rewards(b.items.iter().map(|it| it.meta_str("answer")
//!         .map(|a| if it.completion.contains(a) { 1.0 } else { 0.0 })).collect())
//! }
//! grpo_sdk::reward_plugin!(score, name = "has-answer", version = "1.0.0", description = "...");
//! ```
//!
//! Build: `cargo build --release --target wasm32-wasi` with `crate-type = ["cdylib"]`.
use serde::{Deserialize, Serialize};
pub use serde_json::{Map, Value};

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

/// One (prompt, completion) pair; `metadata` holds the row's other columns.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct Item {
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub completion: String,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl Item {
    /// The metadata column `key` if it is a string.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
    /// The metadata column `key` if it is a number.
    pub fn meta_f64(&self, key: &str) -> Option<f64> {
        self.metadata.get(key).and_then(Value::as_f64)
    }
}

/// One reward call's input. Per-item randomness should derive from `(seed, offset + i)`.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct Batch {
    #[serde(default)]
    pub abi: i32,
    #[serde(default)]
    pub seed: i64,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub items: Vec<Item>,
}

/// A reward call's output: one reward per item (`None` = no score), or an error.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Output {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewards: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Output {
    /// Rewards, one per item. Non-finite values become `null` (no score).
    pub fn rewards(v: Vec<Option<f64>>) -> Output {
        let v = v.into_iter().map(|x| x.filter(|f| f.is_finite())).collect();
        Output { rewards: Some(v), ..Default::default() }
    }
    /// Fails the whole batch with a message.
    pub fn error(msg: impl Into<String>) -> Output {
        Output { error: Some(msg.into()), ..Default::default() }
    }
}

#[doc(hidden)]
pub mod abi {
    use super::*;

    /// Allocates a buffer the host writes into (freed by `free` with the same length).
    pub fn alloc(n: i32) -> *mut u8 {
        let mut v: Vec<u8> = Vec::with_capacity(n.max(1) as usize);
        let p = v.as_mut_ptr();
        std::mem::forget(v);
        p
    }

    /// # Safety
    /// `p` must come from `alloc(n)` or from `pack` of an output of length `n`.
    pub unsafe fn free(p: *mut u8, n: i32) {
        if !p.is_null() {
            drop(Vec::from_raw_parts(p, 0, (n.max(1)) as usize));
        }
    }

    /// Hands bytes to the host as ptr<<32 | len; the capacity is made equal to the length so
    /// that `free(ptr, len)` releases exactly this allocation.
    pub fn pack(out: Vec<u8>) -> u64 {
        let mut b = out.into_boxed_slice();
        let (p, n) = (b.as_mut_ptr(), b.len());
        if n == 0 {
            return 0;
        }
        std::mem::forget(b);
        ((p as u64) << 32) | n as u64
    }

    /// # Safety
    /// `p..p+n` must be the input buffer the host wrote.
    pub unsafe fn input<'a>(p: *const u8, n: i32) -> &'a [u8] {
        std::slice::from_raw_parts(p, n as usize)
    }

    pub fn json<T: Serialize>(v: &T) -> u64 {
        pack(serde_json::to_vec(v).unwrap_or_else(|e| {
            serde_json::to_vec(&Output::error(format!("cannot encode the result: {}", e))).unwrap()
        }))
    }

    pub fn reward(input: &[u8], f: fn(&Batch) -> Output) -> u64 {
        match serde_json::from_slice::<Batch>(input) {
            Ok(b) if b.abi != ABI_VERSION => json(&Output::error(format!("batch has ABI version {}, this plugin speaks {}", b.abi, ABI_VERSION))),
            Ok(b) => json(&f(&b)),
            Err(e) => json(&Output::error(format!("bad batch JSON: {}", e))),
        }
    }

    pub fn configure(input: &[u8], f: fn(&Map<String, Value>) -> Result<(), String>) -> u64 {
        match serde_json::from_slice::<Map<String, Value>>(input) {
            Ok(m) => match f(&m) {
                Ok(()) => 0,
                Err(e) => json(&Output::error(e)),
            },
            Err(e) => json(&Output::error(format!("bad settings JSON: {}", e))),
        }
    }

    pub fn describe(name: &str, version: &str, description: &str) -> u64 {
        json(&serde_json::json!({"name": name, "version": version, "kind": "reward", "description": description}))
    }
}

/// Defines the ABI exports for a reward function `fn(&Batch) -> Output`, with an optional
/// `configure = fn(&Map<String, Value>) -> Result<(), String>` receiving the plugin's settings.
#[macro_export]
macro_rules! reward_plugin {
    ($f:path, name = $name:expr, version = $version:expr, description = $desc:expr $(, configure = $cfg:path)? $(,)?) => {
        #[no_mangle]
        pub extern "C" fn grpo_abi_version() -> i32 { $crate::ABI_VERSION }
        #[no_mangle]
        pub extern "C" fn grpo_alloc(n: i32) -> *mut u8 { $crate::abi::alloc(n) }
        #[no_mangle]
        pub unsafe extern "C" fn grpo_free(p: *mut u8, n: i32) { $crate::abi::free(p, n) }
        #[no_mangle]
        pub unsafe extern "C" fn grpo_reward(p: *const u8, n: i32) -> u64 { $crate::abi::reward($crate::abi::input(p, n), $f) }
        #[no_mangle]
        pub extern "C" fn grpo_describe() -> u64 { $crate::abi::describe($name, $version, $desc) }
        $(
        #[no_mangle]
        pub unsafe extern "C" fn grpo_configure(p: *const u8, n: i32) -> u64 { $crate::abi::configure($crate::abi::input(p, n), $cfg) }
        )?
    };
}
