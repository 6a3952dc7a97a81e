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

// WriteSummaryCSV writes one row per task and method to Out/summary.csv.
// The FID and KID fields are empty where they were not computed.
func WriteSummaryCSV(dir string, summaries []Summary) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "summary.csv"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprintln(bw, "task,method,images,padded,cropped,psnr,ssim,consistency,images_per_second,nfe,fid,fid_low,fid_high,kid_mean,kid_std,kid_spread,few_images")
		for _, s := range summaries {
			var fid, fidLow, fidHigh, kidMean, kidStd, spread, few string
			if m := s.Metrics; s.missingMetrics() == "" {
				fid, kidMean, spread, few = fmt.Sprintf("%.4f", *m.FID), fmt.Sprintf("%.6f", *m.KIDMean), m.KIDSpread, fmt.Sprint(m.FewImages)
				if m.KIDStd != nil {
					kidStd = fmt.Sprintf("%.6f", *m.KIDStd)
				}
				if m.FIDLow != nil {
					fidLow, fidHigh = fmt.Sprintf("%.4f", *m.FIDLow), fmt.Sprintf("%.4f", *m.FIDHigh)
				}
			}
			fmt.Fprintf(bw, "%s,%s,%d,%d,%d,%.4f,%.5f,%.6f,%.4f,%.1f,%s,%s,%s,%s,%s,%s,%s\n", s.Task, s.Method, s.Images, s.Padded, s.Cropped, s.PSNR, s.SSIM, s.Consistency, s.ImagesPerSecond, s.NFE, fid, fidLow, fidHigh, kidMean, kidStd, spread, few)
		}
		return bw.Flush()
	})
}

// Markdown formats the summaries as one table per task, in the study's
// layout. FID and KID columns appear for a task when they were computed
// for it. Each table says how many images were fitted to the methods'
// sides, and lists the restorations skipped on its task; images that could
// not be read at all are listed first.
func Markdown(summaries []Summary, skipped []Skip) string {
	var b strings.Builder
	var unreadable []string
	for _, sk := range skipped {
		if sk.Task == "" {
			unreadable = append(unreadable, sk.String())
		}
	}
	if len(unreadable) > 0 {
		fmt.Fprintf(&b, "\nSkipped %d unreadable image(s):\n\n", len(unreadable))
		for _, u := range unreadable {
			fmt.Fprintf(&b, "- %s\n", u)
		}
	}
	fewest, dim := 0, 0
	for lo := 0; lo < len(summaries); {
		hi := lo + 1
		for hi < len(summaries) && summaries[hi].Task == summaries[lo].Task {
			hi++
		}
		task := summaries[lo:hi:hi]
		lo = hi
		distances := false
		for _, s := range task {
			distances = distances || s.Metrics != nil
		}
		fmt.Fprintf(&b, "\n### %s (%d images%s)\n\n| Method | PSNR ↑ | SSIM ↑ | ‖Hx−y‖ ↓ |", task[0].Task, task[0].Images, fittedNote(task[0]))
		if distances {
			b.WriteString(" FID ↓ | KID ↓ |")
		}
		b.WriteString(" img/s ↑ | NFE |\n|---|---|---|---|")
		if distances {
			b.WriteString("---|---|")
		}
		b.WriteString("---|---|\n")
		for _, s := range task {
			rate := "-"
			if s.NFE > 0 {
				rate = fmt.Sprintf("%.3f", s.ImagesPerSecond)
			}
			fmt.Fprintf(&b, "| %s | %.2f | %.4f | %.4f |", s.Method, s.PSNR, s.SSIM, s.Consistency)
			if distances {
				if why := s.missingMetrics(); why != "" {
					fmt.Fprintf(&b, " %s | %s |", why, why)
				} else {
					fmt.Fprintf(&b, " %s | %s |", FormatFID(s.Metrics), FormatKID(s.Metrics))
				}
			}
			fmt.Fprintf(&b, " %s | %.0f |\n", rate, s.NFE)
			if m := s.Metrics; m != nil && m.FID != nil && (fewest == 0 || m.Images < fewest) {
				fewest, dim = m.Images, m.Features
			}
		}
		var here []string
		for _, sk := range skipped {
			if sk.Task == task[0].Task {
				here = append(here, sk.String())
			}
		}
		if len(here) > 0 {
			fmt.Fprintf(&b, "\nSkipped %d restoration(s) on %s:\n\n", len(here), task[0].Task)
			for _, h := range here {
				fmt.Fprintf(&b, "- %s\n", h)
			}
		}
	}
	if fewest > 0 && fewest < dim {
		b.WriteString("\n" + FewImagesNote(fewest, dim) + "\n")
	}
	return b.String()
}

// FewImagesNote explains what FID and KID over n images of d features are
// worth when n < d.
func FewImagesNote(n, d int) string {
	return fmt.Sprintf("FID and KID here use as few as %d images, fewer than the %d feature dimensions: FID is then biased upward (its expected value falls as the number of images grows) and noisy, so compare FIDs only at equal numbers of images; KID is unbiased but noisy at this size (see its spread). Published FIDs use thousands of images.", n, d)
}

// FormatFID writes FID with its bootstrap interval when there is one.
func FormatFID(m *Metrics) string {
	if m.FIDLow != nil {
		return fmt.Sprintf("%.2f [%.2f, %.2f]", *m.FID, *m.FIDLow, *m.FIDHigh)
	}
	return fmt.Sprintf("%.2f", *m.FID)
}

// FormatKID writes KID with its spread, or says why there is none.
func FormatKID(m *Metrics) string {
	if m.KIDStd == nil {
		return fmt.Sprintf("%.5f ± %s", *m.KIDMean, KIDSpreadWholeSet)
	}
	return fmt.Sprintf("%.5f ± %.5f", *m.KIDMean, *m.KIDStd)
}

// fittedNote says how many of a summary's images were padded or cropped.
func fittedNote(s Summary) string {
	var parts []string
	if s.Padded > 0 {
		parts = append(parts, fmt.Sprintf("%d padded to the sides the methods take, scored cropped back", s.Padded))
	}
	if s.Cropped > 0 {
		parts = append(parts, fmt.Sprintf("%d cropped to the sides the methods take", s.Cropped))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// WriteMarkdown writes "# Results" and Markdown(summaries, skipped) to
// Out/results.md.
func WriteMarkdown(dir string, summaries []Summary, skipped []Skip) error {
	return restore.WriteFileAtomic(filepath.Join(dir, "results.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, "# Results\n"+Markdown(summaries, skipped))
		return err
	})
}
