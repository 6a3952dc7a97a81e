// Package method is restorelab's registry of restoration methods: the one
// place where a method's name becomes a sampler. Each Method has a name, a
// summary, the paper and reference code it follows, and typed settings
// (Param) with defaults, ranges and help; Settings.Sampler builds its
// restore.Sampler from the settings, the networks it needs (Models) and a
// measurement (Problem). The command line (flags), the REPL (set, help,
// completion), bench, the kernel helpers and the notebooks all go through
// it, so a method is added in one place and every front end offers it, with
// the same setting names: the key eta_b is `set eta_b` in the REPL,
// `--eta-b` on the command line and the field EtaB of the method's restore
// configuration, which the settings fill by name.
//
// It is a package of its own rather than part of restore because it is
// about names and text: restore's samplers take typed configurations and
// are used directly from Go, while turning "ddnm+" and "travel_length=3"
// into a run, resolving model names through Models, and describing
// settings for help and completion are the front ends' shared concern. It
// depends on restore alone and needs no cgo; package models implements
// Models with ONNX Runtime.
package method
