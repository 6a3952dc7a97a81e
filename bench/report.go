package bench

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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

// AttachMetrics sets each summary's Metrics to those of its task and
// method, if any.
func AttachMetrics(summaries []Summary, metrics []Metrics) {
	for i := range summaries {
		for j := range metrics {
			if metrics[j].Task == summaries[i].Task && metrics[j].Method == summaries[i].Method {
				summaries[i].Metrics = &metrics[j]
			}
		}
	}
}

// missingMetrics says why the summary has no FID and KID, or "" if it has them.
func (s Summary) missingMetrics() string {
	switch m := s.Metrics; {
	case m == nil:
		return NoFeatures
	case m.FID == nil:
		return "n/a (fewer than 2 images)"
	}
	return ""
}

// WriteSummaryCSV writes one row per task and method to Out/summary.csv,
// with FID and KID where they were computed.
func WriteSummaryCSV(dir string, summaries []Summary) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "summary.csv"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "task,method,images,psnr,ssim,consistency,images_per_second,nfe,fid,kid_mean,kid_std")
		for _, s := range summaries {
			fid, kidMean, kidStd := s.missingMetrics(), "", ""
			if fid != "" {
				kidMean, kidStd = fid, fid
			} else {
				m := s.Metrics
				fid, kidMean, kidStd = fmt.Sprintf("%.4f", *m.FID), fmt.Sprintf("%.6f", *m.KIDMean), fmt.Sprintf("%.6f", *m.KIDStd)
			}
			fmt.Fprintf(bw, "%s,%s,%d,%.4f,%.5f,%.6f,%.4f,%.1f,%s,%s,%s\n", s.Task, s.Method, s.Images, s.PSNR, s.SSIM, s.Consistency, s.ImagesPerSecond, s.NFE, fid, kidMean, kidStd)
		}
		return bw.Flush()
	})
}

// Markdown formats the summaries as one table per task, in the study's
// layout, with FID and KID columns.
func Markdown(summaries []Summary) string {
	var b strings.Builder
	task := ""
	fewest, dim := 0, 0
	for _, s := range summaries {
		if s.Task != task {
			task = s.Task
			fmt.Fprintf(&b, "\n### %s (%d images)\n\n| Method | PSNR ↑ | SSIM ↑ | ‖Hx−y‖ ↓ | FID ↓ | KID ↓ | img/s ↑ | NFE |\n|---|---|---|---|---|---|---|---|\n", task, s.Images)
		}
		rate := "-"
		if s.NFE > 0 {
			rate = fmt.Sprintf("%.3f", s.ImagesPerSecond)
		}
		fid, kid := s.missingMetrics(), ""
		if fid != "" {
			kid = fid
		} else {
			fid, kid = fmt.Sprintf("%.2f", *s.Metrics.FID), fmt.Sprintf("%.5f ± %.5f", *s.Metrics.KIDMean, *s.Metrics.KIDStd)
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.4f | %.4f | %s | %s | %s | %.0f |\n", s.Method, s.PSNR, s.SSIM, s.Consistency, fid, kid, rate, s.NFE)
		if m := s.Metrics; m != nil && m.FID != nil && (fewest == 0 || m.Images < fewest) {
			fewest, dim = m.Images, m.Features
		}
	}
	if fewest > 0 && fewest < dim {
		fmt.Fprintf(&b, "\nFID and KID over as few as %d images (fewer than the %d feature dimensions) are noisy and biased upward: compare methods at equal image counts only; published FIDs use thousands of images.\n", fewest, dim)
	}
	return b.String()
}

// WriteMarkdown writes "# Results" and Markdown(summaries) to Out/results.md.
func WriteMarkdown(dir string, summaries []Summary) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "results.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, "# Results\n"+Markdown(summaries))
		return err
	})
}
