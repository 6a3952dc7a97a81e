package restore_test

import (
	"fmt"

	"github.com/restorelab/restorelab/restore"
)

// Downsample a 4x4 horizontal ramp by 2. The edges are reflected, so the
// outer output pixels are pulled towards the flat mirrored borders, and sizes
// that are not multiples of the factor are refused.
func ExampleNewBicubicDown() {
	op, err := restore.NewBicubicDown(restore.Shape{C: 1, H: 4, W: 4}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{
		0, 1, 2, 3,
		0, 1, 2, 3,
		0, 1, 2, 3,
		0, 1, 2, 3,
	}
	y := make([]float32, op.OutShape().Len())
	restore.ApplyH(op, y, x)
	fmt.Println(op.OutShape())
	fmt.Printf("%.4f\n", y)

	_, err = restore.NewBicubicDown(restore.Shape{C: 3, H: 250, W: 256}, 4)
	fmt.Println(err)
	// Output:
	// 1x2x2
	// [0.4609 2.5391 0.4609 2.5391]
	// bicubic x4: image height 250 is not divisible by the factor 4; crop or pad to a multiple of 4
}
