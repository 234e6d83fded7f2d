// Work sharing for the CPU kernels: items claimed one at a time by the threads of ATen's intra-op
// pool (OpenMP), so a thread that starts late, or is descheduled, leaves its share to the others
// and only has to arrive; each item writes its own outputs, so results do not depend on who ran
// what.
//
// Why this pool: the helpers used to come from ATen's inter-op pool (at::launch), sleeping on a
// condition variable. But nearly every kernel call follows some ATen op (an allocation's fill, a
// reduction, a copy) whose OpenMP worker then spins on the second core for a while; a sleeping
// helper woken then waits behind that spinner for the core, and on a 2-core Sapphire Rapids VM the
// four GLCM angles took as long at 2 threads as at 1 (0.93 ms; 0.57 ms on the OpenMP threads).
// The price: on an overloaded machine the caller waits at the region's end for a descheduled
// thread to arrive, as every ATen op does (with 2 busy processes on 2 cores, Canny 512² at 2
// threads had medians of 0.8-12 ms this way and 1.2-5 ms the old way; unloaded, 0.7 ms both).
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

namespace vision_ext {
namespace cpu {

namespace detail {
template <typename F>
struct ItemQueue {
  int64_t n = 0;
  const F* body = nullptr;
  std::atomic<int64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void drain() {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        (*body)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  }
};
}  // namespace detail

// body(i) for every i in [0, n); `parallel` false runs them in order on this thread. Items that
// one thread runs never overlap, so a body may keep thread_local scratch.
template <typename F>
void run_items(int64_t n, bool parallel, const F& body) {
  const int64_t threads = std::min<int64_t>(n, at::get_num_threads());
  if (!parallel || threads <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  detail::ItemQueue<F> q;
  q.n = n;
  q.body = &body;
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) { q.drain(); });  // one call per thread
  if (q.error) std::rethrow_exception(q.error);
}

// at::parallel_for's contract, f(i0, i1) over [begin, end) in chunks of at least `grain` (one
// chunk below that), on run_items: about four chunks a thread, so a thread the machine delays
// leaves little behind. For bodies whose chunks write disjoint outputs.
template <typename F>
void parallel_chunks(int64_t begin, int64_t end, int64_t grain, const F& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t per = 4 * static_cast<int64_t>(at::get_num_threads());
  const int64_t chunk = std::max<int64_t>(std::max<int64_t>(grain, 1), (n + per - 1) / per);
  const int64_t items = (n + chunk - 1) / chunk;
  run_items(items, items > 1, [&](int64_t i) { f(begin + i * chunk, std::min(end, begin + (i + 1) * chunk)); });
}

}  // namespace cpu
}  // namespace vision_ext
