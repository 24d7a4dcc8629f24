package azblobcrypt

import (
	"context"
	"iter"
	"sync"
)

// parallel calls do for every item on at most workers goroutines, each with
// its own buffer of bufSize bytes. At the first error, or when ctx is done,
// it stops handing out items; it always waits for every goroutine, and
// returns the first error, else ctx's. after runs under a lock after each
// successful item, so callbacks it makes need no locking of their own; if it
// panics, parallel stops and panics with the same value on the caller's
// goroutine.
func parallel[T any](ctx context.Context, items iter.Seq[T], workers, bufSize int,
	do func(ctx context.Context, buf []byte, item T) (int64, error), after func(item T, n int64)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	// A panic in after (a caller's Progress callback) would kill the
	// process from a worker goroutine; catch it, stop, and raise it again on
	// the caller's goroutine once every worker has stopped.
	var panicked any
	callAfter := func(item T, n int64) {
		defer func() {
			if p := recover(); p != nil {
				if panicked == nil {
					panicked = p
				}
				cancel()
			}
		}()
		after(item, n)
	}
	next := make(chan T)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, bufSize)
			for item := range next {
				if ctx.Err() != nil {
					continue // drain: another item failed or ctx was cancelled
				}
				n, err := do(ctx, buf, item)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					cancel()
				} else if after != nil {
					callAfter(item, n)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for item := range items {
		select {
		case next <- item:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
