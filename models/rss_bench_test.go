package models

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// rssBytes reads the resident set size of this process from /proc.
func rssBytes(tb testing.TB) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status on this system")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb * 1024
		}
	}
	tb.Fatal("VmRSS not found")
	return 0
}

// benchmarkRSSGrowth runs sequential DDRM restores with one ONNX prior and
// reports the resident memory after 200 restores relative to after 20: a
// leak of ORT values per call would show as a ratio well above 1.
func benchmarkRSSGrowth(b *testing.B, path string, side, steps int) {
	needRuntime(b)
	d, err := OpenONNX(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	task, _ := restore.LookupTask("sr4")
	shape := restore.Shape{C: 3, H: side, W: side}
	op, err := task.Operator(shape, nil)
	if err != nil {
		b.Fatal(err)
	}
	x := restore.NewTensor(1, shape)
	for i := range x.Data {
		x.Data[i] = float32(i%97) / 96
	}
	y, _ := restore.Degrade(op, x, 0, 1)
	cfg := restore.DefaultDDRMConfig()
	cfg.Steps = steps
	restoreOnce := func(seed uint64) {
		cfg.Seed = seed
		s, err := restore.NewDDRM(d, op, y, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := restore.Run(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var at20 float64
		for i := range 200 {
			restoreOnce(uint64(i))
			if i == 19 {
				runtime.GC()
				at20 = rssBytes(b)
			}
		}
		runtime.GC()
		b.ReportMetric(rssBytes(b)/at20, "rss200/rss20")
		b.ReportMetric(at20/(1<<20), "MiB-at-20")
	}
}

func BenchmarkRSSGrowthFixture(b *testing.B) {
	benchmarkRSSGrowth(b, fixture("closed_f32"), 64, 5)
}
