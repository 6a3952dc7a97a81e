package models

import (
	"runtime"
	"testing"

	"github.com/restorelab/restorelab/repl"
)

// TestReplStartsReuseModels: a REPL session restarting the ldm method
// reuses the SRLDM its cache opened, so twenty starts hold what two do, and
// switching to another method closes the models no longer named.
func TestReplStartsReuseModels(t *testing.T) {
	needRuntime(t)
	c := NewCache(Options{Threads: 2})
	defer c.Close()
	s := repl.NewSession(repl.Config{Models: c})
	for _, cmd := range [][2]string{{"task", "sr4"}, {"method", "ldm"}, {"steps", "2"}} {
		if err := s.Set(cmd[0], cmd[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LoadClean("../samples/cat.png"); err != nil {
		t.Fatal(err)
	}
	if err := s.Degrade(""); err != nil {
		t.Fatal(err)
	}
	var after2 float64
	for i := range 20 {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			runtime.GC()
			after2 = rssBytes(t)
		}
	}
	runtime.GC()
	after20 := rssBytes(t)
	if c.Held() != 1 {
		t.Errorf("the cache holds %d models after 20 starts of ldm, want 1", c.Held())
	}
	if after20 > 1.1*after2 {
		t.Errorf("resident memory %.0f MB after 20 starts, %.0f MB after 2: more than 10%% growth", after20/1e6, after2/1e6)
	}
	t.Logf("resident memory after 2 starts %.0f MB, after 20 %.0f MB", after2/1e6, after20/1e6)
	if err := s.Set("method", "ddrm"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("model", "gaussian"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if c.Held() != 1 {
		t.Errorf("after switching to ddrm with the gaussian prior the cache holds %d models, want only that prior", c.Held())
	}
}
