// CPU small-head attention: the glue around the per-level rows of simd/attention_simd.cpp. Keys and
// values of every head are transposed once into [d][M] panels (zero-padded to whole key blocks), then
// (head, block of query rows) pairs run in parallel (work_sharing.h), each with its own row of scores.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>

#include "simd/attention_simd.h"
#include "work_sharing.h"

namespace vision_ext::cpu {
namespace {

constexpr int64_t kRowsPerTask = 64;

void check(const at::Tensor& t, const char* name, int64_t d) {
  TORCH_CHECK(t.dim() == 4, "vision_ext::small_head_attention: ", name, " must be [B, H, tokens, head_dim], got shape ",
              t.sizes());
  TORCH_CHECK(t.scalar_type() == at::kFloat, "vision_ext::small_head_attention: ", name, " must be float32, got ",
              t.scalar_type());
  TORCH_CHECK(t.size(3) == d, "vision_ext::small_head_attention: ", name, " has head_dim ", t.size(3), ", q has ", d);
}

// Floats between panel rows (and score rows): mp rounded up to an odd number of 64-byte lines, so a
// head's d rows, read side by side, fall in different L1 sets (at mp = 1024 they were 4 KB apart: all
// in one 12-way set, with the score rows too).
int64_t row_stride(int64_t mp) {
  constexpr int64_t line = 64 / sizeof(float);
  const int64_t lines = (mp + line - 1) / line;
  return (lines % 2 ? lines : lines + 1) * line;
}

// [B*H][d][ld] panel of t ([B, H, M, d], any strides), zero past M.
at::Tensor panels(const at::Tensor& t, int64_t ld) {
  const int64_t B = t.size(0), H = t.size(1), M = t.size(2), D = t.size(3);
  at::Tensor out = at::zeros({B * H, D, ld}, t.options());
  const at::Tensor src = t.transpose(2, 3);  // [B, H, d, M] view
  out.view({B, H, D, ld}).narrow(3, 0, M).copy_(src);
  return out;
}

at::Tensor small_head_attention_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  const int64_t d = q.dim() == 4 ? q.size(3) : -1;
  check(q, "q", d);
  check(k, "k", d);
  check(v, "v", d);
  TORCH_CHECK(d == 8 || d == 16, "vision_ext::small_head_attention: head_dim must be 8 or 16, got ", d);
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), M = k.size(2);
  TORCH_CHECK(k.size(0) == B && k.size(1) == H && v.sizes() == k.sizes(),
              "vision_ext::small_head_attention: k and v must be [", B, ", ", H, ", M, ", d, "] alike, got ",
              k.sizes(), " and ", v.sizes());
  TORCH_CHECK(M >= 1, "vision_ext::small_head_attention: k and v need at least one token");
  const at::Tensor qc = q.stride(3) == 1 ? q : q.contiguous();
  const int64_t mp = (M + kAttentionKeyBlock - 1) / kAttentionKeyBlock * kAttentionKeyBlock;
  const int64_t ld = row_stride(mp);
  const at::Tensor kt = panels(k, ld), vt = panels(v, ld);
  at::Tensor out = at::empty({B, N, H, d}, q.options());
  if (N == 0) return out.transpose(1, 2);
  const AttentionKernels& kernels = attention_kernels();
  const int64_t blocks = (N + kRowsPerTask - 1) / kRowsPerTask;
  const float* qp = qc.data_ptr<float>();
  const float* ktp = kt.data_ptr<float>();
  const float* vtp = vt.data_ptr<float>();
  float* op = out.data_ptr<float>();
  cpu::parallel_chunks(0, B * H * blocks, 1, [&](int64_t t0, int64_t t1) {
    // c10's CPU allocator aligns to 64 bytes: the kernel's whole-line vector stores and
    // loads of the score rows never split a line
    const at::Tensor scratch = at::empty({kAttentionMaxRows * ld}, q.options());
    float* scores = scratch.data_ptr<float>();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / blocks, b = bh / H, h = bh % H, r0 = t % blocks * kRowsPerTask;
      AttentionHead head{qp + b * qc.stride(0) + h * qc.stride(1), qc.stride(2), ktp + bh * d * ld,
                         vtp + bh * d * ld, M, mp, ld, op + (b * N * H + h) * d, H * d, static_cast<float>(scale)};
      kernels.rows(head, static_cast<int>(d), r0, std::min(N, r0 + kRowsPerTask), scores);
    }
  });
  return out.transpose(1, 2);
}

}  // namespace
}  // namespace vision_ext::cpu

TORCH_LIBRARY_IMPL(vision_ext, CPU, m) { m.impl("small_head_attention", &vision_ext::cpu::small_head_attention_cpu); }
