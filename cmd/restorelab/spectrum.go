package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/restorelab/restorelab/restore"
)

func runSpectrum(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("spectrum", "spectrum --task T --size WxH --out FILE.csv", stderr)
	taskName := fs.String("task", "", "task: "+taskList())
	size := fs.String("size", "", "clean image size WxH, e.g. 256x256")
	out := fs.String("out", "", "CSV to write: rank, spectral component index, singular value, sorted from the largest")
	seed := fs.Uint64("seed", 0, "seed of inpaint's random mask")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "task", "size", "out"); err != nil {
		return err
	}
	task, err := restore.LookupTask(*taskName)
	if err != nil {
		return err
	}
	w, h, err := parseSize(*size)
	if err != nil {
		return err
	}
	if err := checkOutputPath(*out, ".csv"); err != nil {
		return err
	}
	shape := restore.Shape{C: 3, H: h, W: w}
	keep, err := task.Mask("", shape.H, shape.W, *seed)
	if err != nil {
		return err
	}
	op, err := task.Operator(shape, keep)
	if err != nil {
		return err
	}
	s := op.Singulars()
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s[order[a]] > s[order[b]] })
	err = restore.WriteFileAtomic(*out, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "rank,component,singular_value")
		for rank, k := range order {
			fmt.Fprintf(bw, "%d,%d,%g\n", rank, k, s[k])
		}
		return bw.Flush()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d singular values of %s at %dx%d\n", *out, len(s), task.Name, w, h)
	return nil
}

func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w < 1 || h < 1 || w > 8192 || h > 8192 {
		return 0, 0, fmt.Errorf("size %q is not WxH; give two positive integers up to 8192, e.g. 256x256", s)
	}
	return w, h, nil
}
