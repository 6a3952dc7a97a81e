// Package kernel is restorelab's glue for Jupyter notebooks run by the GoNB
// kernel (https://github.com/janpfeifer/gonb): it shows images, tensors,
// plots, HTML and tables inline, and provides step hooks that show a
// sampler's progress and its x0 estimates live, in one output updated in place.
//
// Install the kernel with 'restorelab kernel install'; the notebooks are in
// the repository's notebooks folder.
//
// Outside a notebook (gonbui.IsNotebook is false: a test, or code copied into
// a program) every function here shows nothing and prints nothing, and the
// hooks return at once without rendering, so notebook code runs unchanged
// and silently anywhere. Errors are still returned.
package kernel
