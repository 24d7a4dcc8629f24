package workpool

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running", n-before)
	}
}

// TestRunEveryItemOnce checks that each item is worked and done exactly
// once, done in item order and never two at once, and that no more than
// 2 × workers + 2 buffers exist (one with workers 0).
func TestRunEveryItemOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 2, 3, 8} {
		for _, n := range []int64{0, 1, 2, 7, 100} {
			t.Run(fmt.Sprintf("workers=%d/n=%d", workers, n), func(t *testing.T) {
				seen := make([]int, n)
				bufs := map[*byte]bool{}
				var inDone atomic.Int32
				next := int64(0)
				err := Run(context.Background(), n, workers, 8,
					func(_ context.Context, buf []byte, i int64) ([]byte, error) {
						if i%3 == 0 {
							time.Sleep(time.Millisecond) // finish out of order
						}
						buf[0] = byte(i)
						return buf[:1+i%8], nil
					},
					func(i int64, p []byte) error {
						if inDone.Add(1) != 1 {
							t.Error("done calls overlap")
						}
						defer inDone.Add(-1)
						if i != next {
							t.Errorf("item %d done before item %d", i, next)
						}
						next++
						if p[0] != byte(i) || int64(len(p)) != 1+i%8 {
							t.Errorf("item %d got another item's result", i)
						}
						bufs[&p[:1][0]] = true
						seen[i]++
						return nil
					})
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range seen {
					if c != 1 {
						t.Errorf("item %d done %d times", i, c)
					}
				}
				if len(bufs) > max(2*workers+2, 1) {
					t.Errorf("%d buffers for %d workers", len(bufs), workers)
				}
			})
		}
	}
}

func TestRunPanicReachesCaller(t *testing.T) {
	before := runtime.NumGoroutine()
	got := func() (p any) {
		defer func() { p = recover() }()
		_ = Run(context.Background(), 8, 3, 16,
			func(_ context.Context, buf []byte, _ int64) ([]byte, error) { return buf, nil },
			func(i int64, _ []byte) error {
				if i == 4 {
					panic("progress failed")
				}
				return nil
			})
		return nil
	}()
	if got != "progress failed" {
		t.Fatalf("recovered %v, want the callback's panic", got)
	}
	waitGoroutines(t, before)
}

func TestRunFirstErrorStops(t *testing.T) {
	boom := errors.New("boom")
	for _, workers := range []int{1, 2} {
		before := runtime.NumGoroutine()
		var ran atomic.Int32
		err := Run(context.Background(), 1000, workers, 1,
			func(_ context.Context, buf []byte, _ int64) ([]byte, error) {
				if ran.Add(1) == 3 {
					return nil, boom
				}
				return buf, nil
			}, func(int64, []byte) error { return nil })
		if !errors.Is(err, boom) {
			t.Fatalf("workers=%d: got %v, want the first error", workers, err)
		}
		if n := ran.Load(); n > 3+2*int32(workers)+2 {
			t.Fatalf("workers=%d: %d items ran after the error", workers, n-3)
		}
		waitGoroutines(t, before)
	}

	// An error from done stops the run too.
	err := Run(context.Background(), 1000, 2, 1,
		func(_ context.Context, buf []byte, _ int64) ([]byte, error) { return buf, nil },
		func(i int64, _ []byte) error {
			if i >= 0 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) {
		t.Fatalf("error from done: got %v", err)
	}
}

func TestRunCancel(t *testing.T) {
	for _, workers := range []int{1, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		var dones int
		err := Run(ctx, 1000, workers, 1,
			func(_ context.Context, buf []byte, _ int64) ([]byte, error) { return buf, nil },
			func(int64, []byte) error {
				if dones++; dones == 10 {
					cancel()
				}
				return nil
			})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("workers=%d: got %v, want context.Canceled", workers, err)
		}
		if dones > 10 {
			t.Errorf("workers=%d: %d items done after the cancel", workers, dones-10)
		}
		cancel()
	}
}

// TestRunCancelWhileWaiting cancels while done waits for a slow item and
// the other workers, with nothing left to take, wait for more: Run returns
// at once, with every goroutine stopped.
func TestRunCancelWhileWaiting(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	ret := make(chan error, 1)
	go func() {
		ret <- Run(ctx, 100, 3, 1,
			func(ctx context.Context, buf []byte, i int64) ([]byte, error) {
				if i == 2 {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return buf, nil
			}, func(int64, []byte) error { return nil })
	}()
	select {
	case err := <-ret:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the cancellation")
	}
	waitGoroutines(t, before)
}
