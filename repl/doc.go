// Package repl steps through diffusion restorations interactively: load a
// clean image, degrade it, start a DDRM run and advance it one step at a
// time, go back, look at x_t, x0_hat, the spectral view and the metrics as
// they evolve, and save any of them.
//
// Session holds the state and does the work without terminal I/O, so
// notebooks can use it directly. Shell runs command lines (Parse reads them)
// against a Session and prints the results; Interact reads them from a
// terminal with line editing, history and completion, and RunScript from a
// file, which replays a session. Images are drawn inline by an ImageWriter;
// Blocks is one that works in any 24-bit colour terminal.
package repl
