// Host test of the torch-free corner headers: border rule, Sobel taps, FAST test and score,
// and the CUDA response kernel's tile logic run on the host against the CPU kernel.
// Contraction off, as in the CPU kernels, so both sides round every product and sum.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

// The CPU row kernel as its baseline level compiles it (setup.py builds it once per level).
#define VE_CPU_NS base
#include "../../csrc/ops/cpu/simd/corner_response_rows.h"
#include "vision_ext/fast.h"
#include "vision_ext/harris.h"
#include "expect.h"

using namespace vision_ext;

// corners.cu's corner_response_kernel, block by block: the same tile geometry, halo
// origin and shared helpers; positions past the image inside a tile are loaded but unused.
template <typename In, typename T>
static std::vector<T> cuda_tiles_on_host(const std::vector<In>& img, const CornerParams& p) {
  const SobelTaps taps = sobel_taps(p.ksize);
  const int lo = p.block_size / 2;
  const int sw = corner_tile_extent(kCornerTileX, p.block_size), sh = corner_tile_extent(kCornerTileY, p.block_size);
  std::vector<T> sxx(sw * sh), sxy(sw * sh), syy(sw * sh);
  std::vector<T> out(static_cast<size_t>(p.height) * p.width, std::numeric_limits<T>::quiet_NaN());
  for (int by = 0; by * kCornerTileY < p.height; ++by)
    for (int bx = 0; bx * kCornerTileX < p.width; ++bx) {
      const int x0 = bx * kCornerTileX - lo, y0 = by * kCornerTileY - lo;
      for (int i = 0; i < sw * sh; ++i)
        corner_products_at<T, In>(img.data(), p, taps, x0 + i % sw, y0 + i / sw, &sxx[i], &sxy[i], &syy[i]);
      for (int ty = 0; ty < kCornerTileY; ++ty)
        for (int tx = 0; tx < kCornerTileX; ++tx) {
          const int x = x0 + lo + tx, y = y0 + lo + ty;
          if (x < p.width && y < p.height)
            out[static_cast<size_t>(y) * p.width + x] =
                corner_window_response(sxx.data(), sxy.data(), syy.data(), ty * sw + tx, sw, p);
        }
    }
  return out;
}

// Bit-exact agreement of the tile logic with the CPU row kernel (which the Python tests hold
// to OpenCV), on images smaller than a tile, crossing tile edges, and every window size class.
template <typename In, typename T>
static void check_tiles_match_cpu(int h, int w, uint32_t seed) {
  std::vector<In> img(static_cast<size_t>(h) * w);
  for (auto& v : img) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<In>(std::is_integral<In>::value ? (seed >> 24) : (seed >> 8) * (1.0 / 16777216.0));
  }
  for (int border : {kBorderConstant, kBorderReplicate, kBorderReflect, kBorderReflect101})
    for (int ksize : {1, 3, 5, 7, -1})
      for (int block : {1, 2, 3, 4, 7, 8, 15, 31})
        for (int harris : {0, 1}) {
          CornerParams p{h, w, block, ksize, border, harris, 0.04, 0.0};
          p.scale = corner_derivative_scale(ksize, block, std::is_integral<In>::value);
          std::vector<T> cpu(img.size());
          std::vector<double> scratch(cpu::corner_scratch_doubles(w, block));
          cpu::base::corner_rows::response_rows<In, T>(img.data(), cpu.data(), p, 0, h, scratch.data());
          const std::vector<T> gpu = cuda_tiles_on_host<In, T>(img, p);
          bool same = true;
          for (size_t i = 0; i < cpu.size(); ++i) same = same && cpu[i] == gpu[i];
          if (!same)
            std::printf("tile mismatch: %dx%d border %d ksize %d block %d harris %d\n", h, w, border, ksize, block,
                        harris);
          EXPECT(same);
        }
}

int main() {
  // Borders on a line of 5: OpenCV's conventions.
  EXPECT(border_index(-1, 5, kBorderReflect101) == 1);
  EXPECT(border_index(-1, 5, kBorderReflect) == 0);
  EXPECT(border_index(5, 5, kBorderReflect101) == 3);
  EXPECT(border_index(6, 5, kBorderReplicate) == 4);
  EXPECT(border_index(-2, 5, kBorderConstant) == -1);
  EXPECT(border_index(-7, 2, kBorderReflect101) >= 0 && border_index(-7, 2, kBorderReflect101) < 2);
  EXPECT(border_index(3, 1, kBorderReflect) == 0);
  // A tile halo reaches far past a tiny image: reflect101 on 3 pixels is 0 1 2 1 0 1 2 ...
  EXPECT(border_index(-4, 3, kBorderReflect101) == 0 && border_index(46, 3, kBorderReflect101) == 2);
  // Sobel taps.
  SobelTaps t5 = sobel_taps(5);
  EXPECT(t5.smooth_r == 2 && t5.smooth[2] == 6.f && t5.deriv[0] == -1.f && t5.deriv[1] == -2.f && t5.deriv[4] == 1.f);
  SobelTaps t7 = sobel_taps(7);
  EXPECT(t7.smooth[3] == 20.f && t7.deriv[1] == -4.f && t7.deriv[2] == -5.f && t7.deriv[3] == 0.f);
  SobelTaps t1 = sobel_taps(1);
  EXPECT(t1.smooth_r == 0 && t1.deriv_r == 1);
  EXPECT(sobel_ksize_valid(-1) && !sobel_ksize_valid(2) && !sobel_ksize_valid(9));
  EXPECT(corner_derivative_scale(3, 2, false) == 1.0 / 8.0);
  // Harris / min-eig on a diagonal matrix.
  EXPECT(min_eigen_from_sums(4.f, 0.f, 1.f) == 1.f);
  EXPECT(harris_from_sums(2.f, 0.f, 3.f, 0.0) == 6.f);
  EXPECT((corner_score<true>(2.0, 1.0, 3.0, 0.04) == 6.0 - 1.0 - 0.04 * 25.0));
  EXPECT((corner_score<false>(4.0, 0.0, 1.0, 0.04) == 1.0));
  // The CUDA tile logic: tiny, sub-tile, tile-crossing images; every input type.
  for (auto hw : {std::pair<int, int>{1, 1}, {3, 5}, {7, 40}, {19, 33}, {9, 64}}) {
    check_tiles_match_cpu<uint8_t, float>(hw.first, hw.second, 7u);
    check_tiles_match_cpu<float, float>(hw.first, hw.second, 11u);
    check_tiles_match_cpu<double, double>(hw.first, hw.second, 13u);
  }
  // FAST: a bright pixel in a dark ring is a corner with score v - ring - 1.
  int ring[16];
  for (int& r : ring) r = 10;
  EXPECT(fast_is_corner<16>(100, ring, 20));
  EXPECT(fast_score<16>(100, ring) == 89);
  EXPECT(!fast_is_corner<16>(25, ring, 20));
  // 8 contiguous dark points of 16 are not enough; 9 are.
  for (int k = 0; k < 16; ++k) ring[k] = k < 8 ? 0 : 100;
  EXPECT(!fast_is_corner<16>(100, ring, 10));
  ring[8] = 0;
  EXPECT(fast_is_corner<16>(100, ring, 10));
  if (failures) return EXIT_FAILURE;
  std::printf("corner headers: all checks passed\n");
  return EXIT_SUCCESS;
}
