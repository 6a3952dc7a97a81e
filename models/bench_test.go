package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/restorelab/restorelab/restore"
)

// benchmarkPredictEps times PredictEps of one model on square images.
func benchmarkPredictEps(b *testing.B, path string) {
	needRuntime(b)
	d, err := OpenONNX(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, side := range []int{64, 256} {
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("%dx%d/batch%d", side, side, n), func(b *testing.B) {
				x, t := randomBatch(rand.New(rand.NewPCG(1, 1)), n, restore.Shape{C: 3, H: side, W: side})
				ctx := context.Background()
				b.SetBytes(int64(4 * len(x.Data)))
				for b.Loop() {
					if _, err := d.PredictEps(ctx, x, t); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The fixtures do next to no arithmetic, so these measure the overhead of a
// call: tensor creation, the run, output checks and copies.
func BenchmarkPredictEpsFixtureF32(b *testing.B) { benchmarkPredictEps(b, fixture("closed_f32")) }
func BenchmarkPredictEpsFixtureF16(b *testing.B) { benchmarkPredictEps(b, fixture("closed_f16")) }
