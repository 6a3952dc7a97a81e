package kernel_test

import (
	"context"
	"fmt"

	"github.com/restorelab/restorelab/kernel"
	"github.com/restorelab/restorelab/restore"
)

// A live display goes into restore.Run like any hook. In a notebook it
// redraws x0_hat and a metric curve every 2 steps; here, outside one, it
// shows nothing and the run is unchanged.
func ExampleLiveHook() {
	task, _ := restore.LookupTask("denoise")
	shape := restore.Shape{C: 3, H: 16, W: 16}
	clean := restore.NewTensor(1, shape)
	for i := range clean.Data {
		clean.Data[i] = float32(i%16) / 15
	}
	op, _ := task.Operator(shape, nil)
	y, _ := restore.Degrade(op, clean, task.SigmaY, 1)
	cfg := restore.DefaultDDRMConfig()
	cfg.Steps, cfg.SigmaY = 6, task.SigmaY
	d, _ := restore.NewDDRM(kernel.Must(kernel.Prior()), op, y, cfg)
	x, err := restore.Run(context.Background(), d, kernel.LiveHook(2, kernel.LiveOptions{Reference: clean}))
	fmt.Println(x.Shape, err)
	// Output: 3x16x16 <nil>
}
