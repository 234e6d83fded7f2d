// Work sharing for the CPU kernels that never waits on a thread that has not started.
//
// On the shared 2-core machine a second OpenMP thread can stay descheduled for a whole time
// slice; at::parallel_for then waits for it at its barrier, and a 1 ms FAST pass took 10 ms.
// Here the calling thread claims items one at a time and helpers from ATen's inter-op pool
// join in when they get a core; the caller waits only for items a helper has already claimed.
// Each item writes its own outputs, so results do not depend on who ran what.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace vision_ext {
namespace cpu {

namespace detail {
struct ItemQueue {
  int64_t n = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  void (*run)(const void*, int64_t) = nullptr;  // only called on a claimed item, while the caller waits
  const void* body = nullptr;
  std::mutex error_mutex;
  std::exception_ptr error;

  void drain() {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        run(body, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1, std::memory_order_release);
    }
  }
};
}  // namespace detail

// body(i) for every i in [0, n); `parallel` false runs them in order on this thread. Items that
// one thread runs never overlap, so a body may keep thread_local scratch.
template <typename F>
void run_items(int64_t n, bool parallel, const F& body) {
  const int64_t helpers = std::min<int64_t>(n - 1, at::get_num_threads() - 1);
  if (!parallel || helpers <= 0 || at::in_parallel_region()) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  auto q = std::make_shared<detail::ItemQueue>();
  q->n = n;
  q->body = &body;
  q->run = [](const void* b, int64_t i) { (*static_cast<const F*>(b))(i); };
  for (int64_t h = 0; h < helpers; ++h) at::launch([q] { q->drain(); });  // q outlives a late helper
  q->drain();
  while (q->done.load(std::memory_order_acquire) < n) std::this_thread::yield();
  if (q->error) std::rethrow_exception(q->error);
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
