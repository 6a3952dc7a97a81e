package restore_test

import (
	"context"
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

// Restore a 4x downsampled image with DDRM and the analytic Gaussian prior,
// watching the steps through a hook.
func ExampleNewDDRM() {
	task, _ := restore.LookupTask("sr4")
	shape := restore.Shape{C: 3, H: 32, W: 32}
	clean := restore.NewTensor(1, shape)
	for i := range clean.Data {
		clean.Data[i] = float32(i%32) / 31 // horizontal ramps
	}
	op, _ := task.Operator(shape, nil)
	y, _ := restore.Degrade(op, clean, 0, 1)

	cfg := restore.DefaultDDRMConfig()
	cfg.Steps = 5
	d, _ := restore.NewDDRM(restore.NewGaussianDenoiser(nil), op, y, cfg)
	x, _ := restore.Run(context.Background(), d, func(s *restore.StepInfo) error {
		fmt.Printf("step %d: t %d -> %d\n", s.Index, s.T, s.TNext)
		return nil
	})
	fmt.Println("restored", x.Shape)
	// Output:
	// step 0: t 800 -> 600
	// step 1: t 600 -> 400
	// step 2: t 400 -> 200
	// step 3: t 200 -> 0
	// step 4: t 0 -> -1
	// restored 3x32x32
}
