package azblobcrypt

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestParallelPanicReachesCaller(t *testing.T) {
	before := runtime.NumGoroutine()
	got := func() (p any) {
		defer func() { p = recover() }()
		_ = parallel(context.Background(), slices.Values([]int{1, 2, 3, 4, 5, 6, 7, 8}), 3, 16,
			func(context.Context, []byte, int) (int64, error) { return 1, nil },
			func(i int, _ int64) {
				if i == 4 {
					panic("progress failed")
				}
			})
		return nil
	}()
	if got != "progress failed" {
		t.Fatalf("recovered %v, want the callback's panic", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running after the panic", n-before)
	}
}

func TestParallelFirstErrorStops(t *testing.T) {
	boom := errors.New("boom")
	var ran int
	err := parallel(context.Background(), slices.Values(make([]int, 100)), 1, 1,
		func(context.Context, []byte, int) (int64, error) {
			ran++
			if ran == 3 {
				return 0, boom
			}
			return 1, nil
		}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the first error", err)
	}
	if ran > 4 {
		t.Fatalf("%d items ran after the error", ran-3)
	}
}
