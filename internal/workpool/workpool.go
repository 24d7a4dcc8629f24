// Package workpool is the bounded pipeline behind every parallel transfer:
// file encryption and decryption (blobcrypt) and blob uploads and downloads
// (azblobcrypt). Workers run the parallel stage of numbered items, each into
// a buffer from a fixed pool; the calling goroutine runs the serial stage
// (a file write, a progress report) as results arrive.
package workpool

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Run calls work(ctx, buf, i) for every item i in [0, n) on at most workers
// goroutines, and then done(i, p) on the calling goroutine with the slice p
// that work returned, in the order the items finish. There are workers+1
// buffers of bufSize bytes, so memory stays bounded whatever n is; a
// buffer goes back to the pool when done returns. With workers <= 1
// everything runs in order on the calling goroutine, on one core.
//
// At the first error from work or done, or when ctx is done, Run stops
// handing out items and returns that error, else ctx's. It returns only
// after every goroutine it started has stopped, also when done panics: the
// panic then continues on the caller's goroutine.
//
// One goroutine doing all of the serial stage loses nothing where that
// stage is a write: the kernel serializes writes to one file (tmpfs and
// ext4 take the inode lock), and workers that wrote for themselves would
// only wait on that lock instead of reading ahead (bench/README.md).
func Run(ctx context.Context, n int64, workers, bufSize int,
	work func(ctx context.Context, buf []byte, i int64) ([]byte, error),
	done func(i int64, p []byte) error) error {
	if n <= 0 {
		return nil
	}
	workers = int(min(int64(max(workers, 1)), n))
	if workers == 1 {
		return sequential(ctx, n, bufSize, work, done)
	}

	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		i      int64
		buf, p []byte
		err    error
	}
	// Each result holds one buffer, so with both channels as large as the
	// pool no send on them ever blocks.
	free := make(chan []byte, workers+1)
	results := make(chan result, workers+1)
	for range workers + 1 {
		free <- make([]byte, bufSize)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				var buf []byte
				select {
				case buf = <-free:
				case <-ctx.Done():
					return
				}
				i := next.Add(1) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				p, err := work(ctx, buf, i)
				results <- result{i, buf, p, err}
				// The send made the calling goroutine runnable on this
				// processor, but it would run only once this worker blocks,
				// an item or more later. It is the serial stage: let it run
				// now (bench/README.md: 2 workers 1.6x -> 1.8x 1 worker).
				runtime.Gosched()
				if err != nil {
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	// On every return, also an error or a panic in done: stop the workers
	// and wait for them, so that none outlives this call and nothing the
	// caller closes afterwards is still in use.
	defer func() {
		cancel()
		for range results {
		}
	}()
	for r := range results {
		if r.err != nil {
			return r.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := done(r.i, r.p); err != nil {
			return err
		}
		free <- r.buf
	}
	// The workers stop early only when ctx, derived from the caller's, is done.
	return ctx.Err()
}

func sequential(ctx context.Context, n int64, bufSize int,
	work func(ctx context.Context, buf []byte, i int64) ([]byte, error),
	done func(i int64, p []byte) error) error {
	buf := make([]byte, bufSize)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := work(ctx, buf, i)
		if err != nil {
			return err
		}
		if err := done(i, p); err != nil {
			return err
		}
	}
	return nil
}
