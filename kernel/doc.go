// Package kernel is restorelab's glue for Jupyter notebooks run by the GoNB
// kernel (https://github.com/janpfeifer/gonb).
//
//   - ShowImage, ShowTensor, ShowFigure, ShowPlot, ShowHTML, ShowMarkdown
//     and ShowTable show results inline.
//   - LiveHook is a sampler step hook that shows x0_hat thumbnails and a
//     metric curve in one output updated in place while the sampler runs;
//     Progress is a progress bar updated in place, e.g. for bench.Run.
//   - Models holds the networks every cell shares; Sampler builds any
//     method's sampler by name (package method) with settings as
//     "key=value"; Prior is the prior the notebooks restore with. Must,
//     Must2 and Check turn errors into panics, which GoNB reports in the
//     cell.
//
// Install the kernel with 'restorelab kernel install'; the notebooks are in
// the repository's notebooks folder.
//
// Outside a notebook (gonbui.IsNotebook is false: a test, or code copied into
// a program) the Show functions, Progress and LiveHook show nothing, print
// nothing and skip their rendering work, so notebook code runs unchanged and
// silently anywhere.
package kernel
