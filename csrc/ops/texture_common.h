// Argument checks and shape handling shared by the CPU and CUDA texture ops (LBP, GLCM,
// graycoprops, HOG), so both devices accept exactly the same inputs and word their errors alike.
// The rules are scikit-image 0.26's (vision_ext/features/texture.py, docs/EXACTNESS.md).
#pragma once
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "vision_ext/texture.h"

namespace vision_ext {
namespace texture {

// A (H, W) or (B, H, W) image as B contiguous planes.
struct Planes {
  at::Tensor t;  // (B, H, W)
  int64_t b, h, w;
};

inline Planes as_planes(const at::Tensor& image, const char* op) {
  const int64_t d = image.dim();
  TORCH_CHECK(d == 2 || d == 3, op, ": image must have shape (H, W) or (B, H, W) (grayscale), got ", image.sizes(),
              "; convert colour images to grayscale first (skimage.color.rgb2gray)");
  const int64_t h = image.size(d - 2), w = image.size(d - 1), b = d == 3 ? image.size(0) : 1;
  TORCH_CHECK(h >= 1 && w >= 1, op, ": image must have at least one pixel, got shape ", image.sizes());
  TORCH_CHECK(h < (int64_t(1) << 30) && w < (int64_t(1) << 30), op, ": image height and width must be < 2^30, got ",
              image.sizes());
  return Planes{image.reshape({b, h, w}), b, h, w};
}

inline bool is_integer_dtype(at::ScalarType st) {
  return st == at::kByte || st == at::kChar || st == at::kShort || st == at::kInt || st == at::kLong ||
         st == at::kUInt16 || st == at::kUInt32;
}

// ---- LBP ----------------------------------------------------------------------------------------

inline const char* lbp_method_name(int64_t m) {
  static const char* names[] = {"default", "ror", "uniform", "nri_uniform", "var"};
  return names[m];
}

inline LbpParams lbp_params(int64_t h, int64_t w, int64_t P, double R, int64_t method, bool finite) {
  const char* op = "local_binary_pattern";
  TORCH_CHECK(method >= kLbpDefault && method <= kLbpVar, op,
              ": method must be 0..4 (default, ror, uniform, nri_uniform, var), got ", method);
  TORCH_CHECK(P >= 1, op, ": P (number of circle points) must be >= 1, got ", P);
  const int64_t max_p = method == kLbpDefault || method == kLbpRor ? kLbpMaxCodePoints : kLbpMaxPoints;
  TORCH_CHECK(P <= max_p, op, ": P must be <= ", max_p, " for method '", lbp_method_name(method), "' (",
              method <= kLbpRor ? "the codes are P-bit integers" : "one bit per point", "), got ", P);
  TORCH_CHECK(std::isfinite(R) && R > 0.0, op, ": R (circle radius) must be a finite number > 0, got ", R);
  TORCH_CHECK(R <= kLbpMaxRadius, op, ": R must be <= ", kLbpMaxRadius, " pixels, got ", R);
  LbpParams p{};
  p.height = static_cast<int>(h);
  p.width = static_cast<int>(w);
  p.points = static_cast<int>(P);
  p.method = static_cast<int>(method);
  const double r = static_cast<float>(R);  // skimage's kernel takes R as a C float
  p.pad = static_cast<int>(std::ceil(r)) + 1;
  for (int i = 0; i < p.points; ++i) {
    const double a = 2 * 3.141592653589793 * i / p.points;
    const double rr = -r * std::sin(a), cc = r * std::cos(a);
    p.rp[i] = std::nearbyint(rr * 100000.0) / 100000.0;  // np.round(x, 5)
    p.cp[i] = std::nearbyint(cc * 100000.0) / 100000.0;
    p.cp_lo[i] = static_cast<int>(std::floor(p.cp[i]));
    p.cp_hi[i] = static_cast<int>(std::ceil(p.cp[i]));
    p.on_pixel[i] = finite && p.rp[i] == std::floor(p.rp[i]) && p.cp[i] == std::floor(p.cp[i]);
  }
  return p;
}

inline void check_lbp_dtype(const at::Tensor& image) {
  const auto st = image.scalar_type();
  TORCH_CHECK(is_integer_dtype(st) || st == at::kBool || st == at::kFloat || st == at::kDouble || st == at::kHalf,
              "local_binary_pattern: image dtype must be an integer, bool or floating type, got ", st);
}

// The image as zero-padded float64 planes (B, H + 2 pad, W + 2 pad): samples off the image read 0,
// skimage's constant border.
inline at::Tensor lbp_padded(const Planes& img, const LbpParams& p) {
  at::Tensor padded = at::zeros({img.b, img.h + 2 * p.pad, img.w + 2 * p.pad}, img.t.options().dtype(at::kDouble));
  padded.narrow(1, p.pad, img.h).narrow(2, p.pad, img.w).copy_(img.t);
  return padded;
}

// ---- GLCM ---------------------------------------------------------------------------------------

inline std::vector<GlcmOffset> glcm_offsets(at::ArrayRef<double> distances, at::ArrayRef<double> angles) {
  std::vector<GlcmOffset> offs;
  for (double d : distances)
    for (double a : angles) {
      const double r = std::round(std::sin(a) * d), c = std::round(std::cos(a) * d);  // C round, as skimage
      TORCH_CHECK(std::isfinite(r) && std::isfinite(c) && std::fabs(r) < 1e9 && std::fabs(c) < 1e9,
                  "graycomatrix: distances and angles must be finite (offsets below 1e9 pixels), got distance ", d,
                  " angle ", a);
      const int dr = static_cast<int>(r), dc = static_cast<int>(c);
      offs.push_back(GlcmOffset{dr, dc});
    }
  return offs;  // index d * na + a: the (distance, angle) axes of the output, flattened
}

// The image as int32 (or uint8) planes with every value checked against `levels` (skimage raises).
inline at::Tensor glcm_image(const Planes& img, int64_t& levels) {
  const char* op = "graycomatrix";
  const auto st = img.t.scalar_type();
  TORCH_CHECK(st != at::kFloat && st != at::kDouble && st != at::kHalf && st != at::kBFloat16, op,
              ": float images are not supported; convert the image to an unsigned integer type, e.g. "
              "(image * 255).round().to(torch.uint8) for [0, 1] images");
  TORCH_CHECK(is_integer_dtype(st), op, ": image dtype must be an integer type, got ", st);
  TORCH_CHECK(levels >= 0 || st == at::kByte || st == at::kChar, op,
              ": levels is required for dtypes other than uint8 (the matrix is levels x levels), got dtype ", st);
  if (levels < 0) levels = 256;
  TORCH_CHECK(levels >= 1 && levels <= kGlcmMaxLevels, op, ": levels must be in [1, ", kGlcmMaxLevels, "], got ",
              levels);
  at::Tensor t = img.t.contiguous();
  if (t.numel() > 0) {
    const at::Tensor wide = st == at::kByte ? t : t.to(at::kLong);
    TORCH_CHECK(st == at::kByte || wide.min().item<int64_t>() >= 0, op, ": negative-valued images are not supported");
    const int64_t mx = wide.max().item<int64_t>();
    TORCH_CHECK(mx < levels, op, ": the maximum grey value in the image (", mx,
                ") must be smaller than levels (", levels, "); pass levels=", mx + 1, " or more");
  }
  if (st == at::kByte) return t;
  return t.to(at::kInt);
}

// Number of pixel pairs an offset counts (every value is < levels, so all of them).
inline int64_t glcm_pairs(int64_t h, int64_t w, const GlcmOffset& o) {
  const int64_t rows = h - std::abs(static_cast<int64_t>(o.dr)), cols = w - std::abs(static_cast<int64_t>(o.dc));
  return rows > 0 && cols > 0 ? rows * cols : 0;
}

inline GlcmProp prop_from_arg(int64_t prop) {
  TORCH_CHECK(prop >= 0 && prop < kGlcmPropCount, "graycoprops: prop index must be in [0, ", int(kGlcmPropCount),
              ") (contrast, dissimilarity, homogeneity, energy, correlation, ASM, mean, variance, std, entropy), got ",
              prop);
  return static_cast<GlcmProp>(prop);
}

// ---- HOG ----------------------------------------------------------------------------------------

inline HogParams hog_params(const at::Tensor& img, int64_t orientations, at::IntArrayRef ppc, at::IntArrayRef cpb,
                            int64_t norm, bool visualize) {
  const char* op = "hog";
  TORCH_CHECK(orientations >= 1 && orientations <= kHogMaxOrientations, op, ": orientations must be in [1, ",
              kHogMaxOrientations, "], got ", orientations);
  TORCH_CHECK(ppc.size() == 2 && ppc[0] >= 1 && ppc[1] >= 1, op,
              ": pixels_per_cell must be two integers >= 1 (rows, cols), got ", ppc);
  TORCH_CHECK(cpb.size() == 2 && cpb[0] >= 1 && cpb[1] >= 1, op,
              ": cells_per_block must be two integers >= 1 (rows, cols), got ", cpb);
  TORCH_CHECK(norm >= kHogL1 && norm <= kHogL2Hys, op, ": block_norm must be 0..3 (L1, L1-sqrt, L2, L2-Hys), got ",
              norm);
  TORCH_CHECK(ppc[0] * ppc[1] < (int64_t(1) << 24), op, ": a cell must have fewer than 2^24 pixels, got ", ppc);
  TORCH_CHECK(!visualize || (ppc[0] >= 2 && ppc[1] >= 2), op,
              ": visualize needs pixels_per_cell >= 2 in both directions (the drawn radius is min(cell) // 2 - 1), "
              "got ", ppc);
  const int64_t h = img.size(2), w = img.size(3);
  HogParams p{};
  p.height = static_cast<int>(h), p.width = static_cast<int>(w), p.channels = static_cast<int>(img.size(1));
  p.orientations = static_cast<int>(orientations);
  p.cell_rows = static_cast<int>(std::min<int64_t>(ppc[0], int64_t(1) << 30));
  p.cell_cols = static_cast<int>(std::min<int64_t>(ppc[1], int64_t(1) << 30));
  p.cells_row = static_cast<int>(h / ppc[0]), p.cells_col = static_cast<int>(w / ppc[1]);
  p.block_rows = static_cast<int>(std::min<int64_t>(cpb[0], int64_t(1) << 30));
  p.block_cols = static_cast<int>(std::min<int64_t>(cpb[1], int64_t(1) << 30));
  p.blocks_row = p.cells_row - p.block_rows + 1, p.blocks_col = p.cells_col - p.block_cols + 1;
  TORCH_CHECK(p.blocks_row > 0 && p.blocks_col > 0, op, ": the image (", h, "x", w,
              ") is too small for pixels_per_cell ", ppc, " and cells_per_block ", cpb, "; it needs at least ",
              cpb[0] * ppc[0], " rows and ", cpb[1] * ppc[1], " cols");
  p.norm = static_cast<int>(norm);
  for (int i = 0; i <= p.orientations; ++i) p.edges[i] = 180.0 / p.orientations * i;
  return p;
}

inline at::Tensor hog_image_planes(const at::Tensor& image) {
  const char* op = "hog";
  TORCH_CHECK(image.dim() == 3 || image.dim() == 4, op,
              ": image must have shape (C, H, W) or (B, C, H, W) (use vision_ext.features.hog for (H, W) and "
              "channel_axis), got ",
              image.sizes());
  const auto st = image.scalar_type();
  TORCH_CHECK(st == at::kFloat || st == at::kDouble || st == at::kByte, op,
              ": image dtype must be uint8, float32 or float64 (uint8 is read as skimage's float64 image; "
              "convert other types with image.double()), got ", st);
  at::Tensor t = image.dim() == 3 ? image.unsqueeze(0) : image;
  TORCH_CHECK(t.size(1) >= 1, op, ": image must have at least one channel, got ", image.sizes());
  TORCH_CHECK(t.size(2) < (int64_t(1) << 30) && t.size(3) < (int64_t(1) << 30), op,
              ": image height and width must be < 2^30, got ", image.sizes());
  return t.contiguous();
}

// ---- the ops over a device backend D, which supplies ----
//   D::Guard(device)
//   D::lbp(padded, out, params)                                   out (B, H, W) float64
//   D::glcm(image, h, w, offsets, levels, symmetric, normed, out) out (B, L, L, nd, na)
//   D::props(P (N, K, L, L) float64, props, out (N, nprops, K) float64)
//   D::hog(image (B, C, H, W), params, features, hog_image or undefined)

template <typename D>
at::Tensor local_binary_pattern_op(const at::Tensor& image, int64_t P, double R, int64_t method) {
  const char* op = "local_binary_pattern";
  check_lbp_dtype(image);
  Planes img = as_planes(image, op);
  const LbpParams p = lbp_params(img.h, img.w, P, R, method, is_integer_dtype(image.scalar_type()) || image.scalar_type() == at::kBool);
  typename D::Guard guard(image.device());
  at::Tensor out = at::empty({img.b, img.h, img.w}, image.options().dtype(at::kDouble));
  if (img.b > 0) D::lbp(lbp_padded(img, p), out, p);
  return out.view(image.sizes());
}

template <typename D>
at::Tensor graycomatrix_op(const at::Tensor& image, at::ArrayRef<double> distances, at::ArrayRef<double> angles,
                           int64_t levels, bool symmetric, bool normed) {
  const char* op = "graycomatrix";
  Planes img = as_planes(image, op);
  TORCH_CHECK(img.h * img.w <= (int64_t(1) << 30), op, ": image must have at most 2^30 pixels, got ", image.sizes());
  const std::vector<GlcmOffset> offs = glcm_offsets(distances, angles);
  typename D::Guard guard(image.device());
  at::Tensor t = glcm_image(img, levels);
  const int64_t nd = static_cast<int64_t>(distances.size()), na = static_cast<int64_t>(angles.size());
  at::Tensor out = at::zeros({img.b, levels, levels, nd, na}, image.options().dtype(normed ? at::kDouble : at::kInt));
  if (img.b > 0 && !offs.empty()) D::glcm(t, img.h, img.w, offs, levels, symmetric, normed, out);
  return image.dim() == 2 ? out.squeeze(0) : out;
}

template <typename D>
at::Tensor graycoprops_op(const at::Tensor& P, at::IntArrayRef props) {
  const char* op = "graycoprops";
  TORCH_CHECK(P.dim() >= 4, op, ": P must have shape (levels, levels, distances, angles) or (..., levels, levels, "
              "distances, angles), got ", P.sizes());
  const int64_t d = P.dim(), L = P.size(d - 4), nd = P.size(d - 2), na = P.size(d - 1);
  TORCH_CHECK(L == P.size(d - 3), op, ": P's two level axes must be equal (a levels x levels matrix), got ",
              P.sizes());
  TORCH_CHECK(nd > 0 && na > 0, op, ": P needs at least one distance and one angle, got ", P.sizes());
  TORCH_CHECK(L >= 1, op, ": P needs at least one level, got ", P.sizes());
  TORCH_CHECK(!P.is_complex() && P.scalar_type() != at::kBool, op, ": P must be a real-valued matrix, got ",
              P.scalar_type());
  TORCH_CHECK(!props.empty(), op, ": give at least one property");
  std::vector<int64_t> pv;
  for (int64_t pr : props) pv.push_back(prop_from_arg(pr));
  typename D::Guard guard(P.device());
  std::vector<int64_t> batch(P.sizes().begin(), P.sizes().end() - 4);
  at::Tensor m = P.to(at::kDouble).reshape({-1, L, L, nd * na}).permute({0, 3, 1, 2}).contiguous();
  at::Tensor out = at::empty({m.size(0), static_cast<int64_t>(pv.size()), nd * na}, P.options().dtype(at::kDouble));
  if (m.size(0) > 0) D::props(m, pv, out);
  batch.push_back(static_cast<int64_t>(pv.size()));
  batch.push_back(nd);
  batch.push_back(na);
  return out.view(batch);
}

template <typename D>
std::tuple<at::Tensor, at::Tensor> hog_op(const at::Tensor& image, int64_t orientations, at::IntArrayRef ppc,
                                          at::IntArrayRef cpb, int64_t block_norm, bool transform_sqrt,
                                          bool visualize) {
  at::Tensor t = hog_image_planes(image);
  const HogParams p = hog_params(t, orientations, ppc, cpb, block_norm, visualize);
  typename D::Guard guard(image.device());
  if (transform_sqrt) t = (t.scalar_type() == at::kByte ? t.to(at::kDouble) : t).sqrt();
  const int64_t b = t.size(0);
  const auto out_opts = t.options().dtype(t.scalar_type() == at::kByte ? at::kDouble : t.scalar_type());
  at::Tensor features = at::empty({b, p.blocks_row, p.blocks_col, p.block_rows, p.block_cols, p.orientations},
                                  out_opts);
  at::Tensor vis = visualize ? at::zeros({b, p.height, p.width}, out_opts) : at::empty({0}, out_opts);
  if (b > 0) D::hog(t, p, features, vis, visualize);
  if (image.dim() == 3) {
    features = features.squeeze(0);
    if (visualize) vis = vis.squeeze(0);
  }
  return {features, vis};
}

template <typename D>
void register_texture_ops(torch::Library& m) {
  m.impl("local_binary_pattern", &local_binary_pattern_op<D>);
  m.impl("graycomatrix", &graycomatrix_op<D>);
  m.impl("graycoprops", &graycoprops_op<D>);
  m.impl("hog", &hog_op<D>);
}

}  // namespace texture
}  // namespace vision_ext
