package bench

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"

	"github.com/restorelab/restorelab/restore"
)

// WriteCSV writes one row per restored image to Out/results.csv.
func WriteCSV(dir string, results []Result) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "results.csv"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "image,task,method,psnr,ssim,consistency,seconds,nfe")
		for _, r := range results {
			fmt.Fprintf(bw, "%s,%s,%s,%.4f,%.5f,%.6f,%.3f,%d\n", r.Image, r.Task, r.Method, r.PSNR, r.SSIM, r.Consistency, r.Seconds, r.NFE)
		}
		return bw.Flush()
	})
}

// Markdown formats the summaries as one table per task, in the study's layout.
func Markdown(summaries []Summary) string {
	out := ""
	task := ""
	for _, s := range summaries {
		if s.Task != task {
			task = s.Task
			out += fmt.Sprintf("\n### %s (%d images)\n\n| Method | PSNR ↑ | SSIM ↑ | ‖Hx−y‖ ↓ | img/s ↑ | NFE |\n|---|---|---|---|---|---|\n", task, s.Images)
		}
		rate := "-"
		if s.NFE > 0 {
			rate = fmt.Sprintf("%.3f", s.ImagesPerSecond)
		}
		out += fmt.Sprintf("| %s | %.2f | %.4f | %.4f | %s | %.0f |\n", s.Method, s.PSNR, s.SSIM, s.Consistency, rate, s.NFE)
	}
	return out
}

// WriteMarkdown writes Markdown(Summarise(results)) to Out/results.md.
func WriteMarkdown(dir string, results []Result) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "results.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, "# Results\n"+Markdown(Summarise(results)))
		return err
	})
}
