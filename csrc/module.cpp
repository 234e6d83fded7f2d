// The extension module. Ops register themselves through TORCH_LIBRARY_FRAGMENT
// in csrc/ops/*.cpp when this shared object is loaded; Python only needs the
// module to exist, plus build facts for vision_ext.build_info().
#include <Python.h>

#include <ATen/Parallel.h>

namespace {

PyObject* build_flags(PyObject*, PyObject*) {
#ifdef VE_WITH_CUDA
  const bool with_cuda = true;
#else
  const bool with_cuda = false;
#endif
  // The CPU kernels' level is a run-time choice: torch.ops.vision_ext._cpu_capability().
  return Py_BuildValue("{s:O,s:s}", "cuda", with_cuda ? Py_True : Py_False, "parallel",
                       at::get_parallel_info().c_str());
}

PyMethodDef methods[] = {
    {"build_flags", build_flags, METH_NOARGS, "Compile-time facts of this build."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", "vision_ext compiled ops", -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&module); }
