package models

import (
	"embed"
	"io/fs"
)

// The bundled models are embedded so that the binary works from any
// directory, without the source tree.
//
//go:embed bundled
var embedded embed.FS

// bundled holds one folder per bundled model; tests point it elsewhere.
// fs.Sub fails only on an invalid path, and this one is constant.
var bundled, _ = fs.Sub(embedded, "bundled")
