package progress_test

import (
	"fmt"
	"time"

	"github.com/restorelab/restorelab/internal/progress"
)

func ExampleLine() {
	fmt.Println(progress.Line("ddrm", 10, 20, 5*time.Second, "t=450"))
	// Output: ddrm [############............] 10/20  0.50s/step  5s left  t=450
}
