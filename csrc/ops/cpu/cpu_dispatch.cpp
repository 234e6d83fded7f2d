// Which CPU level runs: detection, the VISION_EXT_CPU_CAPABILITY override, and the private ops
// that report and switch it (tests run every level in one process through them).
#include "cpu_dispatch.h"

#include <torch/library.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

namespace vision_ext::cpu {
namespace {

const char* const kNames[] = {"default", "avx2", "avx512"};

// The best level this CPU (and OS: libgcc checks XCR0 for the AVX state) can run.
CpuLevel supported_level() {
#if defined(VE_CPU_X86)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c") &&
                    __builtin_cpu_supports("popcnt");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return avx512 ? CpuLevel::avx512 : (avx2 ? CpuLevel::avx2 : CpuLevel::base);
#else
  return CpuLevel::base;
#endif
}

int parse_level(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kNames[i]) return i;
  if (name == "base" || name == "baseline") return 0;
  return -1;
}

std::string level_list() {
  std::string s;
  for (int i = 0; i <= static_cast<int>(supported_level()); ++i) s += (i ? ", " : "") + std::string(kNames[i]);
  return s;
}

// The starting level: the best supported one, or VISION_EXT_CPU_CAPABILITY when it names a level
// this CPU runs. A level the CPU lacks is not an error at import: the best supported one is used.
int initial_level() {
  const int best = static_cast<int>(supported_level());
  const char* env = std::getenv("VISION_EXT_CPU_CAPABILITY");
  if (!env || !*env) return best;
  const int want = parse_level(env);
  return want < 0 || want > best ? best : want;
}

std::atomic<int>& level_slot() {
  static std::atomic<int> level{initial_level()};
  return level;
}

std::string active_name() { return kNames[level_slot().load(std::memory_order_relaxed)]; }

std::string set_level(const std::string& name) {
  const int want = parse_level(name);
  TORCH_CHECK(want >= 0, "vision_ext: unknown CPU capability '", name, "'; expected one of: ", level_list());
  TORCH_CHECK(want <= static_cast<int>(supported_level()), "vision_ext: this CPU cannot run the '", name,
              "' kernels; it supports: ", level_list());
  const std::string previous = active_name();
  level_slot().store(want, std::memory_order_relaxed);
  return previous;
}

std::vector<std::string> compiled_levels() {
#if defined(VE_CPU_X86)
  return {kNames[0], kNames[1], kNames[2]};
#else
  return {kNames[0]};
#endif
}

std::vector<std::string> runnable_levels() {
  std::vector<std::string> out;
  for (int i = 0; i <= static_cast<int>(supported_level()); ++i) out.emplace_back(kNames[i]);
  return out;
}

}  // namespace

CpuLevel active_cpu_level() { return static_cast<CpuLevel>(level_slot().load(std::memory_order_relaxed)); }

}  // namespace vision_ext::cpu

TORCH_LIBRARY_FRAGMENT(vision_ext, m) {
  m.def("_cpu_capability() -> str", [] { return vision_ext::cpu::active_name(); });
  m.def("_set_cpu_capability(str level) -> str", &vision_ext::cpu::set_level);
  m.def("_cpu_capabilities_compiled() -> str[]", &vision_ext::cpu::compiled_levels);
  m.def("_cpu_capabilities_supported() -> str[]", &vision_ext::cpu::runnable_levels);
}
