//! The peak heap of one stretch of work in this process: a global allocator that counts
//! the bytes live and the most that were live since the last [`PeakHeap::measure`] began.
//! `bench_scale` installs it (`#[global_allocator]`) to print each sweep's peak memory: the
//! emulator is another process, so what is counted is the product's code, its SDK
//! clients and the runtime, as in the Lambda function.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting.
pub struct PeakHeap;

impl PeakHeap {
    /// Runs `work`; also returns the most bytes that were live during it above those live
    /// when it began (other tasks of the process count too: run it alone).
    pub async fn measure<F: Future>(work: F) -> (F::Output, usize) {
        let base = LIVE.load(Ordering::SeqCst);
        PEAK.store(base, Ordering::SeqCst);
        let output = work.await;
        let peak = PEAK.load(Ordering::SeqCst);
        (output, peak.saturating_sub(base))
    }
}

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters move.
unsafe impl GlobalAlloc for PeakHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = System.alloc(layout);
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = System.alloc_zeroed(layout);
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        System.dealloc(pointer, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(pointer, layout, new_size);
        if !moved.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        moved
    }
}
