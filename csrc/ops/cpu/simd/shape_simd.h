// The per-level kernels of the CPU shape family (shape_simd.cpp) and what the glue
// (../shape_kernel.cpp) hands them: an int32 region-id plane (0 = background, else a slot index)
// and plain arrays per slot. Torch-free: the glue allocates every buffer.
#pragma once
#include <cstdint>

#include "../cpu_dispatch.h"
#include "vision_ext/shape.h"

namespace vision_ext::cpu {

// One thread's sums, `slots` entries each (zeroed / kBoxEmpty* by the glue).
struct ShapeSums {
  uint64_t* moments;   // slots x shape::kMomentWords: 128-bit raw moments (low, high words)
  int64_t* perimeter;  // slots x shape::kPerimeterClasses: border pixel counts per weight class
  int32_t* box;        // slots x 4: min row, min col, max row, max col (inclusive)
};

// int32 words of workspace accumulate_rows needs for a plane `width` wide.
inline int64_t shape_work_words(int width) { return 4 * (static_cast<int64_t>(width) + 2); }

struct ShapeKernels {
  // Raw moments, bounding boxes and perimeter classes of rows [y0, y1) of one height x width plane
  // of ids, added into `sums`. work: shape_work_words(width) int32.
  void (*accumulate_rows)(const int32_t* ids, int height, int width, int y0, int y1, ShapeSums sums, int32_t* work);
  // Leftmost / rightmost column of every slot on rows [y0, y1): row y of slot s goes to
  // extents[2 * (row_offset[s] + y - box[4 * s])] (min) and the word after it (max), which the glue
  // set to (INT32_MAX, -1). box: the merged boxes of accumulate_rows.
  void (*extent_rows)(const int32_t* ids, int width, int y0, int y1, const int32_t* box, const int64_t* row_offset,
                      int32_t* extents);
};

}  // namespace vision_ext::cpu

VE_CPU_KERNELS(ShapeKernels, shape)
