package viz_test

import (
	"context"
	"math"

	"github.com/restorelab/restorelab/restore"
)

// demo is a small DDRM run shared by the examples: two 32x32 images
// restored from 4x downsampled, noisy measurements with the analytic
// Gaussian prior, which takes milliseconds.
type demo struct {
	clean, y, result *restore.Tensor
	op               restore.Operator
	steps            []*restore.StepInfo
	sigmaY           float64 // on the [0, 1] scale
}

func runDemo() (*demo, error) {
	shape := restore.Shape{C: 3, H: 32, W: 32}
	clean := restore.NewTensor(2, shape)
	for b := range 2 {
		px := clean.Item(b)
		for c := range 3 {
			for i := range 32 {
				for j := range 32 {
					// A disc on a gradient, coloured differently per image.
					d := math.Hypot(float64(i)-15.5, float64(j)-15.5-4*float64(b))
					v := 0.2 + 0.5*float64(j)/31*float64(c+1)/3
					if d < 10 {
						v = 0.9 - 0.3*float64((c+b)%3)
					}
					px[c*1024+i*32+j] = float32(v)
				}
			}
		}
	}
	task, err := restore.LookupTask("sr4-noisy")
	if err != nil {
		return nil, err
	}
	op, err := task.Operator(shape, nil)
	if err != nil {
		return nil, err
	}
	y, err := restore.Degrade(op, clean, task.SigmaY, 1)
	if err != nil {
		return nil, err
	}
	cfg := restore.DefaultDDRMConfig()
	cfg.Steps, cfg.SigmaY = 10, task.SigmaY
	d, err := restore.NewDDRM(restore.NewGaussianDenoiser(nil), op, y, cfg)
	if err != nil {
		return nil, err
	}
	var steps []*restore.StepInfo
	result, err := restore.Run(context.Background(), d, func(s *restore.StepInfo) error {
		steps = append(steps, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &demo{clean: clean, y: y, result: result, op: op, steps: steps, sigmaY: task.SigmaY}, nil
}
